"""BraTS 2023 layout: one folder per case (subject x timepoint), BraTS file names.

Layout (relative to the ``brats/`` folder of the archive)::

    README.md                    synthetic notice, label table
    cases.tsv                    case_id -> subject_id, visit, day, synthetic date
    BraTS-GLI-<subject 5>-<visit 3>/BraTS-GLI-<subject 5>-<visit 3>-{t1n,t1c,t2w,t2f,seg}.nii.gz

The subject number is ``subjects.subject_index``. Volumes keep the render grid (BraTS itself is
1 mm, 240 x 240 x 155; export at 1 mm for that resolution, no resampling is done here).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .bids import SYNTHETIC_NOTICE
from .imaging_common import LABEL_TABLE, tsv_bytes, write_labels, write_sequence
from .inputs import ExportOptions, RunExportData
from .timeline import SubjectTimeline

__all__ = ["write_brats_metadata", "write_brats_visit"]


def write_brats_metadata(
    root: Path,
    data: RunExportData,
    options: ExportOptions,
    timelines: Sequence[SubjectTimeline],
    visits: dict[str, list[tuple[int, int]]],
    study_id: str,
) -> list[Path]:
    from generator.nifti import brats_case_id

    root.mkdir(parents=True, exist_ok=True)
    labels = "\n".join(f"- {index}: {name} ({abbr})" for index, name, abbr, _ in LABEL_TABLE)
    readme = root / "README.md"
    readme.write_bytes(
        (
            f"# {study_id}: BraTS-layout export (synthetic)\n\n{SYNTHETIC_NOTICE}\n\n"
            f"Seed {int(data.seed)}; generator {data.versions.get('generator', 'unknown')}; "
            f"{options.resolution_mm:g} mm isotropic.\n\nSegmentation labels (BraTS 2023):\n"
            f"{labels}\n"
        ).encode()
    )
    rows = []
    for t in timelines:
        for visit, day in visits.get(t.subject_id, []):
            rows.append(
                [
                    brats_case_id(int(t.row["subject_index"]), visit),
                    t.subject_id,
                    visit,
                    day,
                    t.date(day),
                    "yes",
                ]
            )
    cases = root / "cases.tsv"
    cases.write_bytes(
        tsv_bytes(["case_id", "subject_id", "visit", "day", "date", "synthetic"], rows)
    )
    return [readme, cases]


def write_brats_visit(
    root: Path,
    data: RunExportData,
    timeline: SubjectTimeline,
    visit: int,
    day: int,
    volumes: dict[str, tuple[np.ndarray, np.ndarray]],
    labels: tuple[np.ndarray, np.ndarray] | None,
    options: ExportOptions,
) -> list[Path]:
    from generator.nifti import brats_case_id, brats_filename

    subject = int(timeline.row["subject_index"])
    case = root / brats_case_id(subject, visit)
    case.mkdir(parents=True, exist_ok=True)
    written = []
    for sequence in options.sequences:
        array, affine = volumes[sequence]
        written.append(
            write_sequence(
                case / brats_filename(subject, visit, sequence),
                array,
                affine,
                description=f"SYNTHETIC {sequence} {timeline.subject_id} visit {visit}",
            )
        )
    if labels is not None:
        written.append(write_labels(case / brats_filename(subject, visit, "seg"), *labels))
    return written
