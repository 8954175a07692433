"""Cohort simulation API: chunks of subjects, as the platform's Celery workers compute them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from simulation.labelmap import CroppedLabelMap
from simulation.spec import CohortSpec
from simulation.subject import simulate_subject

#: The columns other tools rely on (the CLI contract); the engine adds its own after them.
CONTRACT_SUBJECT_COLUMNS = (
    "subject_id",
    "subject_index",
    "age",
    "sex",
    "race",
    "ethnicity",
    "kps",
    "mgmt_methylated",
    "idh_mutant",
    "resection",
    "regimen",
    "os_months",
    "os_event",
    "pfs_months",
    "pfs_event",
    "best_response",
)
SUBJECT_COLUMNS = CONTRACT_SUBJECT_COLUMNS + (
    "os_day",
    "pfs_day",
    "death_cause",
    "tumour_lobe",
    "rho_per_day",
    "d_white_mm2_per_day",
    "rt_alpha_per_gy",
    "lethal_burden_ml",
    "pseudoprogression",
)
CONTRACT_ASSESSMENT_COLUMNS = (
    "subject_id",
    "visit",
    "day",
    "enhancing_ml",
    "necrosis_ml",
    "edema_ml",
    "spd_mm2",
    "response",
)
ASSESSMENT_COLUMNS = (
    *CONTRACT_ASSESSMENT_COLUMNS[:-1],
    "measurable_lesions",
    "tumour_burden_ml",
    "response",
)
DEVICES = ("cpu", "cuda")
BACKENDS = ("numba", "torch")


@dataclass
class CohortChunk:
    """Results for a set of subject indices (one row per subject, one per visit per subject)."""

    subjects: pd.DataFrame
    assessments: pd.DataFrame
    label_maps: dict[tuple[str, int], CroppedLabelMap] = field(default_factory=dict)
    anatomy_params: dict[str, dict[str, Any]] = field(default_factory=dict)


def resolve_backend(device: str, backend: str | None) -> str:
    """Check ``device`` and ``backend``; the default backend is numba on CPU and torch on CUDA."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    if backend is None:
        backend = "torch" if device == "cuda" else "numba"
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "numba" and device != "cpu":
        raise ValueError("backend 'numba' runs on the CPU only; use backend 'torch' for cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but no CUDA device is available")
    return backend


def simulate_subjects(
    spec: CohortSpec,
    subject_indices: Sequence[int],
    *,
    device: str = "cpu",
    backend: str | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CohortChunk:
    """Simulate the given subjects of ``spec``.

    Subject i's result depends only on (spec, i, backend): it is identical whichever chunk or
    batch computes it. ``backend="numba"`` (the default on CPU) grows each tumour alone with a
    compiled serial kernel; ``backend="torch"`` (the default on CUDA, also available on CPU)
    grows up to ``batch_size`` tumours at once with batched tensor operations on ``device``.
    The two backends run the same event loop, read-outs and float32 arithmetic; on the CPU
    their outputs are byte-identical (docs/simulation.md, "Backends").
    """
    backend = resolve_backend(device, backend)
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    indices = [int(i) for i in subject_indices]
    for i in indices:
        if not 0 <= i < spec.size:
            raise ValueError(f"subject index {i} is outside the cohort (size {spec.size})")
    regimen = spec.regimen_definition()
    if backend == "torch":
        from simulation.torch_backend import simulate_subjects_torch

        results = simulate_subjects_torch(
            spec, indices, regimen, device=device, batch_size=batch_size, progress=progress
        )
    else:
        results = []
        for done, index in enumerate(indices, start=1):
            results.append(simulate_subject(spec, index, regimen))
            if progress is not None:
                progress(done, len(indices))
    rows: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    label_maps: dict[tuple[str, int], CroppedLabelMap] = {}
    anatomy: dict[str, dict[str, Any]] = {}
    for result in results:
        rows.append(result.row)
        visits.extend(result.assessments)
        label_maps.update(result.label_maps)
        anatomy[result.row["subject_id"]] = result.anatomy_params
    subjects = pd.DataFrame(rows, columns=list(SUBJECT_COLUMNS))
    assessments = pd.DataFrame(visits, columns=list(ASSESSMENT_COLUMNS))
    return CohortChunk(subjects, assessments, label_maps, anatomy)
