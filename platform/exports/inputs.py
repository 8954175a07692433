"""What an export is made from (``RunExportData``) and how (``ExportOptions``).

Both are plain dataclasses: the platform fills ``RunExportData`` from its models, the API fills
``ExportOptions`` from the request. ``ExportOptions`` validates itself on construction; the data
are validated by ``validate_run_data`` (called by ``build_export`` before anything is written).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from simulation.cohort import CONTRACT_ASSESSMENT_COLUMNS as ASSESSMENT_COLUMNS
from simulation.cohort import CONTRACT_SUBJECT_COLUMNS as SUBJECT_COLUMNS

from .errors import ExportError

__all__ = [
    "ADAM_DATASETS",
    "ALL_DATASETS",
    "BIDS_SUFFIXES",
    "LAYOUTS",
    "SDTM_DATASETS",
    "SEQUENCES",
    "SUPPORTED_RESOLUTIONS_MM",
    "ExportOptions",
    "LabelMapFn",
    "RenderVisitFn",
    "RunExportData",
    "validate_run_data",
]

#: SDTM domains written (SDTMIG 3.3). SUPPDM and CO always travel with DM: they carry the
#: synthetic-subject flag and comment, which must not be separable from the demographics.
SDTM_DATASETS: tuple[str, ...] = ("DM", "SUPPDM", "CO", "TS", "EX", "TU", "TR", "RS", "DS")
#: ADaM datasets written (ADaMIG 1.3; ADTTE per the ADaM BDS-TTE structure).
ADAM_DATASETS: tuple[str, ...] = ("ADSL", "ADTTE")
ALL_DATASETS: tuple[str, ...] = SDTM_DATASETS + ADAM_DATASETS

#: Sequence names as the generator knows them (BraTS 2023) -> BIDS ``[ce-<label>_]<suffix>``.
BIDS_SUFFIXES: dict[str, str] = {
    "t1n": "T1w",
    "t1c": "ce-gadolinium_T1w",
    "t2w": "T2w",
    "t2f": "FLAIR",
}
SEQUENCES: tuple[str, ...] = tuple(BIDS_SUFFIXES)

#: Grids the MNI152 anatomy exists on (nilearn ships 1 mm and 2 mm templates).
SUPPORTED_RESOLUTIONS_MM: tuple[float, ...] = (1.0, 2.0)
LAYOUTS: tuple[str, ...] = ("bids", "brats")

#: ``render_visit(subject_id, visit, sequences, resolution_mm) -> {sequence: (data, affine)}``
RenderVisitFn = Callable[[str, int, Sequence[str], float], dict[str, tuple[np.ndarray, np.ndarray]]]
#: ``label_map(subject_id, visit) -> (uint8 BraTS labels, affine)`` on the render grid.
LabelMapFn = Callable[[str, int], tuple[np.ndarray, np.ndarray]]

_STUDY_ID_RE = re.compile(r"[^A-Z0-9]+")


@dataclass(frozen=True)
class RunExportData:
    """Everything about one finished simulation run that an export needs.

    ``subjects``: one row per subject (``SUBJECT_COLUMNS``); ``assessments``: one row per subject
    and visit (``ASSESSMENT_COLUMNS``, optionally ``ldiam_mm``/``pdiam_mm``). Volumes are not
    stored: ``render_visit`` and ``label_map`` produce them on demand.
    """

    spec: dict[str, Any]
    seed: int
    versions: dict[str, str]
    subjects: pd.DataFrame
    assessments: pd.DataFrame
    render_visit: RenderVisitFn | None = None
    label_map: LabelMapFn | None = None

    @property
    def has_diameters(self) -> bool:
        return {"ldiam_mm", "pdiam_mm"} <= set(self.assessments.columns)

    def study_id(self, override: str | None = None) -> str:
        """STUDYID: the option, else the spec's trial/study name, else ``SCA<seed>``."""
        raw = override or next(
            (
                str(self.spec[key])
                for key in ("study_id", "trial_name", "trial", "name")
                if isinstance(self.spec.get(key), str) and self.spec[key].strip()
            ),
            f"SCA{self.seed}",
        )
        study_id = _STUDY_ID_RE.sub("-", raw.upper()).strip("-")[:40]
        if not study_id:
            raise ExportError(f"study_id: {raw!r} has no letters or digits")
        return study_id


@dataclass(frozen=True)
class ExportOptions:
    """What to put in the archive. Invalid options raise ``ExportError`` naming the option.

    ``visits`` (None = all) and ``sequences`` select the images; the tabular datasets always
    cover every visit, so SDTM and ADaM stay consistent with each other.
    """

    datasets: tuple[str, ...] = ALL_DATASETS
    imaging: bool = True
    segmentations: bool = True
    visits: tuple[int, ...] | None = None
    sequences: tuple[str, ...] = SEQUENCES
    resolution_mm: float = 1.0
    layout: Literal["bids", "brats"] = "bids"
    study_id: str | None = None
    csv: bool = True
    xpt: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "datasets", _check_datasets(self.datasets))
        set_(self, "sequences", _check_sequences(self.sequences))
        set_(self, "visits", _check_visits(self.visits))
        set_(self, "resolution_mm", _check_resolution(self.resolution_mm))
        if self.layout not in LAYOUTS:
            raise ExportError(f"layout: {self.layout!r} is not one of {', '.join(LAYOUTS)}")
        for name in ("imaging", "segmentations", "csv", "xpt"):
            if not isinstance(getattr(self, name), bool):
                raise ExportError(f"{name}: must be true or false, got {getattr(self, name)!r}")
        if self.study_id is not None and not isinstance(self.study_id, str):
            raise ExportError(f"study_id: must be a string, got {self.study_id!r}")
        if not (self.csv or self.xpt) and self.datasets:
            raise ExportError("csv, xpt: at least one tabular format is needed for datasets")

    @property
    def sdtm(self) -> tuple[str, ...]:
        return tuple(name for name in SDTM_DATASETS if name in self.datasets)

    @property
    def adam(self) -> tuple[str, ...]:
        return tuple(name for name in ADAM_DATASETS if name in self.datasets)

    @property
    def wants_images(self) -> bool:
        return self.imaging and (bool(self.sequences) or self.segmentations)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the manifest and the API)."""
        return {
            "datasets": list(self.datasets),
            "imaging": self.imaging,
            "segmentations": self.segmentations,
            "visits": None if self.visits is None else list(self.visits),
            "sequences": list(self.sequences),
            "resolution_mm": self.resolution_mm,
            "layout": self.layout,
            "study_id": self.study_id,
            "csv": self.csv,
            "xpt": self.xpt,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportOptions:
        """From API JSON; unknown keys are an error naming them."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ExportError(f"options: unknown option(s) {', '.join(unknown)}")
        values = dict(data)
        for key in ("datasets", "sequences", "visits"):
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        return cls(**values)


# ---------------------------------------------------------------------- option checks


def _as_tuple(value: object, option: str) -> tuple[object, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ExportError(f"{option}: must be a list, got {value!r}")
    return tuple(value)


def _check_datasets(value: object) -> tuple[str, ...]:
    names = _as_tuple(value, "datasets")
    chosen: set[str] = set()
    for name in names:
        upper = name.upper() if isinstance(name, str) else name
        if upper not in ALL_DATASETS:
            raise ExportError(
                f"datasets: unknown dataset {name!r} (choices: {', '.join(ALL_DATASETS)})"
            )
        chosen.add(upper)
    if "DM" in chosen:
        chosen |= {"SUPPDM", "CO"}
    return tuple(name for name in ALL_DATASETS if name in chosen)


def _check_sequences(value: object) -> tuple[str, ...]:
    names = _as_tuple(value, "sequences")
    for name in names:
        if name not in SEQUENCES:
            raise ExportError(
                f"sequences: unknown sequence {name!r} (choices: {', '.join(SEQUENCES)})"
            )
    return tuple(name for name in SEQUENCES if name in names)


def _check_visits(value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    visits = _as_tuple(value, "visits")
    for visit in visits:
        if isinstance(visit, bool) or not isinstance(visit, int | np.integer) or visit < 0:
            raise ExportError(f"visits: {visit!r} is not a visit number (integer >= 0)")
    return tuple(sorted({int(visit) for visit in visits}))


def _check_resolution(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ExportError(f"resolution_mm: {value!r} is not a number")
    resolution = float(value)
    if not math.isfinite(resolution) or resolution not in SUPPORTED_RESOLUTIONS_MM:
        choices = ", ".join(f"{r:g}" for r in SUPPORTED_RESOLUTIONS_MM)
        raise ExportError(f"resolution_mm: {value!r} mm is not supported (choices: {choices})")
    return resolution


# ---------------------------------------------------------------------- data checks


def validate_run_data(data: RunExportData, options: ExportOptions) -> None:
    """Raise ``ExportError`` naming the table/column/callback when the run cannot be exported."""
    if isinstance(data.seed, bool) or not isinstance(data.seed, int | np.integer):
        raise ExportError(f"seed: must be an integer, got {data.seed!r}")
    if not isinstance(data.spec, dict):
        raise ExportError("spec: must be a dict (the normalised cohort spec)")
    if not isinstance(data.versions, dict):
        raise ExportError("versions: must be a dict of component -> version")
    from .manifest import jsonable  # the manifest embeds both: fail now, not after rendering

    jsonable(data.spec, "spec")
    jsonable(data.versions, "versions")
    _check_frame(data.subjects, "subjects", SUBJECT_COLUMNS)
    if data.subjects.empty:
        raise ExportError("subjects: the run has no subjects; nothing to export")
    _check_frame(data.assessments, "assessments", ASSESSMENT_COLUMNS)
    ids = data.subjects["subject_id"]
    if ids.isna().any() or ids.duplicated().any():
        dupes = sorted(set(ids[ids.duplicated()].astype(str)))[:5]
        raise ExportError(f"subjects.subject_id: missing or duplicated ids {dupes}")
    for column in ("os_months", "pfs_months", "age"):
        values = pd.to_numeric(data.subjects[column], errors="coerce")
        if values.isna().any() or (values < 0).any():
            raise ExportError(f"subjects.{column}: missing, non-numeric or negative values")
    for column in ("os_event", "pfs_event", "mgmt_methylated", "idh_mutant"):
        if not data.subjects[column].isin([0, 1]).all():
            raise ExportError(f"subjects.{column}: values must be 0 or 1")
    unknown = sorted(set(data.assessments["subject_id"]) - set(ids))
    if unknown:
        raise ExportError(f"assessments.subject_id: {unknown[:5]} are not in subjects")
    if data.assessments.duplicated(["subject_id", "visit"]).any():
        raise ExportError("assessments: more than one row for a (subject_id, visit)")
    if options.imaging and options.visits is not None:
        present = set(int(v) for v in data.assessments["visit"])
        missing = [visit for visit in options.visits if visit not in present]
        if missing:
            raise ExportError(f"visits: {missing} not in this run (visits: {sorted(present)})")
    if options.imaging and options.sequences and data.render_visit is None:
        raise ExportError("render_visit: imaging with sequences needs a render_visit callback")
    if options.imaging and options.segmentations and data.label_map is None:
        raise ExportError("label_map: imaging with segmentations needs a label_map callback")
    if options.imaging and options.layout == "brats":
        index = pd.to_numeric(data.subjects["subject_index"], errors="coerce")
        if index.isna().any() or (index < 0).any() or (index > 99999).any():
            raise ExportError("subject_index: BraTS layout needs integers 0..99999")


def _check_frame(frame: object, name: str, columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ExportError(f"{name}: must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ExportError(f"{name}: missing column(s) {', '.join(missing)}")
