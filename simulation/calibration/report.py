"""Reference cohorts versus the published control arms (``python -m simulation calibrate``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from simulation.calibration import calibration_data, reference_cohorts
from simulation.cohort import simulate_subjects
from simulation.parallel import worker_pool
from simulation.spec import CohortSpec, parse_spec

TWO_YEARS_MONTHS = 24.0


def reference_spec(cohort: dict[str, Any], size: int | None = None) -> CohortSpec:
    """The cohort spec of a reference cohort (defaults = the Stupp 2005 population)."""
    return parse_spec(
        {
            "size": size or cohort["size"],
            "seed": cohort["seed"],
            "indication": cohort["indication"],
            "regimen": cohort["regimen"],
            "visit_interval_weeks": cohort["visit_interval_weeks"],
            "follow_up_months": cohort["follow_up_months"],
        }
    )


def _subjects_only(spec_dict: dict[str, Any], indices: list[int]) -> pd.DataFrame:
    return simulate_subjects(parse_spec(spec_dict), indices).subjects


def simulate_table(spec: CohortSpec, workers: int = 1) -> pd.DataFrame:
    """Subject table of a whole cohort (no files), optionally over worker processes."""
    indices = list(range(spec.size))
    if workers <= 1:
        return simulate_subjects(spec, indices).subjects
    blocks = [indices[start : start + 10] for start in range(0, len(indices), 10)]
    with worker_pool(workers) as pool:
        frames = list(pool.map(_subjects_only, [spec.to_dict()] * len(blocks), blocks))
    return pd.concat(frames, ignore_index=True)


def km_summary(durations: pd.Series, events: pd.Series) -> dict[str, float]:
    """Kaplan-Meier median with its 95% CI (lifelines) and the 2-year survival."""
    kmf = KaplanMeierFitter().fit(durations, events)
    ci = median_survival_times(kmf.confidence_interval_)
    return {
        "median": float(kmf.median_survival_time_),
        "median_lo": float(ci.iloc[0, 0]),
        "median_hi": float(ci.iloc[0, 1]),
        "at_24_months": float(kmf.predict(TWO_YEARS_MONTHS)),
    }


def summarise(subjects: pd.DataFrame) -> dict[str, dict[str, float]]:
    return {
        "os": km_summary(subjects["os_months"], subjects["os_event"]),
        "pfs": km_summary(subjects["pfs_months"], subjects["pfs_event"]),
    }


def check(cohort: dict[str, Any], summary: dict[str, dict[str, float]]) -> list[str]:
    """Failures of a simulated reference cohort against its published figures (empty = pass)."""
    failures = []
    published = cohort["published"]
    tolerance = calibration_data()["tolerances"]["os_24_months_abs"]["value"]
    for key, endpoint in (("os_median_months", "os"), ("pfs_median_months", "pfs")):
        _, lo, hi = published[key]
        value = summary[endpoint]["median"]
        if not lo <= value <= hi:
            failures.append(f"{cohort['name']}: {endpoint} median {value:.2f} not in [{lo}, {hi}]")
    if "os_24_months" in published:
        value = summary["os"]["at_24_months"]
        if abs(value - published["os_24_months"]) > tolerance:
            failures.append(
                f"{cohort['name']}: 2-year OS {value:.3f} not within {tolerance} of "
                f"{published['os_24_months']}"
            )
    return failures


def format_row(cohort: dict[str, Any], summary: dict[str, dict[str, float]]) -> str:
    p = cohort["published"]
    os_, pfs = summary["os"], summary["pfs"]
    two_year = (
        f"{os_['at_24_months'] * 100:5.1f}% vs {p['os_24_months'] * 100:.1f}%"
        if "os_24_months" in p
        else f"{os_['at_24_months'] * 100:5.1f}% vs n/a"
    )
    return (
        f"{cohort['name']:<20} OS {os_['median']:5.2f} ({os_['median_lo']:.2f}-"
        f"{os_['median_hi']:.2f}) vs {p['os_median_months'][0]} ({p['os_median_months'][1]}-"
        f"{p['os_median_months'][2]}) | PFS {pfs['median']:5.2f} ({pfs['median_lo']:.2f}-"
        f"{pfs['median_hi']:.2f}) vs {p['pfs_median_months'][0]} ({p['pfs_median_months'][1]}-"
        f"{p['pfs_median_months'][2]}) | 2-y OS {two_year}"
    )


def run_calibration(workers: int = 1, size: int | None = None) -> tuple[list[str], list[str]]:
    """Simulate every reference cohort; returns (table lines, failures)."""
    lines, failures = [], []
    for cohort in reference_cohorts():
        subjects = simulate_table(reference_spec(cohort, size), workers)
        summary = summarise(subjects)
        lines.append(format_row(cohort, summary))
        failures += check(cohort, summary)
    return lines, failures
