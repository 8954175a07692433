"""Synthetic MRI for simulated glioblastoma patients (no Django).

Public API: engines behind one interface (``get_engine``, ``render_visit``), deterministic NIfTI
I/O (``write_volume``, ``write_segmentation``, ``read_volume``, ``brats_filename``) and the CLI
``python -m generator render|make-corpus|train|evaluate``.
"""

from generator.engine import (
    SEQUENCES,
    Anatomy,
    Engine,
    GeneratorInputError,
    RenderRequest,
    get_engine,
    render_visit,
)
from generator.nifti import (
    NiftiReadError,
    brats_case_id,
    brats_filename,
    read_segmentation,
    read_volume,
    write_segmentation,
    write_volume,
)

__all__ = [
    "SEQUENCES",
    "Anatomy",
    "Engine",
    "GeneratorInputError",
    "NiftiReadError",
    "RenderRequest",
    "brats_case_id",
    "brats_filename",
    "get_engine",
    "read_segmentation",
    "read_volume",
    "render_visit",
    "write_segmentation",
    "write_volume",
]
