"""Versioned calibration data: every model parameter with its unit and literature source.

The data live in ``parameters.json`` next to this module; ``CALIBRATION_VERSION`` is read from it
so that a run's manifest records exactly which parameter set produced it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

PARAMETERS_PATH = Path(__file__).with_name("parameters.json")


@lru_cache(maxsize=1)
def calibration_data() -> dict[str, Any]:
    """The whole calibration file (sources, reference cohorts, tolerances, parameters)."""
    with PARAMETERS_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def parameters() -> dict[str, dict[str, Any]]:
    """Parameter values only: ``parameters()["growth"]["rho_median_per_day"] -> 0.018``."""
    groups = calibration_data()["parameters"]
    return {
        group: {name: entry["value"] for name, entry in entries.items()}
        for group, entries in groups.items()
    }


def reference_cohorts() -> list[dict[str, Any]]:
    """The published control arms the engine is calibrated against."""
    return list(calibration_data()["reference_cohorts"])


CALIBRATION_VERSION: str = calibration_data()["calibration_version"]
