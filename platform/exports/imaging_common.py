"""Shared pieces of the imaging layouts: JSON/TSV writing and NIfTI writing.

NIfTI files are written by ``generator.nifti`` (int16 with power-of-two scaling, gzip with
mtime=0), so every volume is byte-reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ExportError

__all__ = [
    "LABEL_TABLE",
    "json_bytes",
    "tsv_bytes",
    "write_labels",
    "write_sequence",
]

#: BraTS 2023 labels (generator.engine.BRATS_LABELS) with BIDS dseg names and colours.
LABEL_TABLE: tuple[tuple[int, str, str, str], ...] = (
    (0, "background", "BG", "#000000"),
    (1, "necrotic tumour core", "NCR", "#ff0000"),
    (2, "peritumoral oedema", "ED", "#00ff00"),
    (3, "enhancing tumour", "ET", "#0000ff"),
)
NIFTI_DESCRIP_BYTES = 80  # nifti1.h: descrip is char[80]


def json_bytes(data: dict[str, Any]) -> bytes:
    """Stable JSON: sorted keys, 2-space indent, trailing newline."""
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode()


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    text = str(value)
    if "\t" in text or "\n" in text:
        raise ExportError(f"TSV value {text!r} contains a tab or newline")
    return text


def tsv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """BIDS TSV: tab separated, ``n/a`` for missing values, LF line ends."""
    lines = ["\t".join(header)]
    lines += ["\t".join(_cell(value) for value in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _descrip(text: str) -> str:
    return text.encode("ascii", errors="replace")[:NIFTI_DESCRIP_BYTES].decode("ascii")


def write_sequence(path: Path, data: np.ndarray, affine: np.ndarray, *, description: str) -> Path:
    """One MR volume as int16 NIfTI-1 (.nii.gz)."""
    from generator.nifti import write_volume

    return write_volume(path, data, affine, description=_descrip(description))


def write_labels(path: Path, labels: np.ndarray, affine: np.ndarray) -> Path:
    """One BraTS label map as uint8 NIfTI-1 (.nii.gz)."""
    from generator.nifti import write_segmentation

    return write_segmentation(path, labels, affine)
