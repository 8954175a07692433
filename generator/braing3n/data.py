"""Reading BraTS-layout training directories (BraTS 2021 or 2023 naming).

    DIR/<case>/<case>-{t1n,t1c,t2w,t2f,seg}.nii.gz      BraTS 2023 (labels 1, 2, 3)
    DIR/<case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz     BraTS 2021 (labels 1, 2, 4 -> 3)

Optional ``DIR/participants.tsv`` (columns ``case_id`` or ``participant_id``, ``age``, ``sex``)
supplies covariates; without it they are "unknown". Volumes must be skull-stripped with a zero
background, as BraTS is: the brain mask is where any sequence is non-zero.

Each case is reoriented to RAS, cropped to the brain, resampled to the model grid and each
sequence divided by the 99.5th percentile of its brain voxels (clipped to [0, 1]).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from generator.braing3n.errors import DataError
from generator.braing3n.geometry import fit_grid, label_fractions, resample_labels, to_ras
from generator.engine import SEQUENCES, GeneratorInputError, check_same_grid
from generator.nifti import read_volume

__all__ = [
    "BraTSCase",
    "BraTSDataset",
    "PreparedCase",
    "covariate_vector",
    "find_cases",
    "normalise_intensity",
    "split_cases",
]

#: File suffixes per layout, in SEQUENCES order, then the segmentation.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "brats2023": ("-t1n.nii.gz", "-t1c.nii.gz", "-t2w.nii.gz", "-t2f.nii.gz", "-seg.nii.gz"),
    "brats2021": ("_t1.nii.gz", "_t1ce.nii.gz", "_t2.nii.gz", "_flair.nii.gz", "_seg.nii.gz"),
}
#: BraTS 2021 labels enhancing tumour 4; BraTS 2023 relabelled it 3.
BRATS2021_ENHANCING = 4
#: Intensity reference percentile (robust to a few hot voxels).
INTENSITY_PERCENTILE = 99.5
#: Covariate normalisation: age centred on 60 years and scaled by 15 (about the GBM age
#: distribution of Stupp et al. 2005: median 56, range 18-70).
AGE_CENTRE_YEARS = 60.0
AGE_SCALE_YEARS = 15.0


@dataclass(frozen=True)
class BraTSCase:
    """One case folder: its id, layout and the five file paths (four sequences, seg)."""

    case_id: str
    layout: str
    sequence_paths: tuple[Path, Path, Path, Path]
    seg_path: Path
    age_years: float | None = None
    sex: str | None = None


@dataclass(frozen=True)
class PreparedCase:
    """A case on the model grid: ``images [4, *shape]``, ``labels``, ``fractions [4, *shape]``."""

    case_id: str
    images: torch.Tensor
    labels: torch.Tensor
    fractions: torch.Tensor
    covariates: torch.Tensor


def covariate_vector(age_years: float | None, sex: str | None) -> torch.Tensor:
    """``[age_norm, age_known, sex_code]`` with sex +1 male, -1 female, 0 unknown."""
    age_known = age_years is not None and math.isfinite(float(age_years))
    age = (float(age_years) - AGE_CENTRE_YEARS) / AGE_SCALE_YEARS if age_known else 0.0
    code = {"m": 1.0, "male": 1.0, "f": -1.0, "female": -1.0}.get(str(sex).strip().lower(), 0.0)
    return torch.tensor([age, 1.0 if age_known else 0.0, code], dtype=torch.float32)


def _detect_layout(folder: Path) -> str:
    names = [p.name for p in folder.iterdir()]
    for layout, suffixes in LAYOUTS.items():
        if any(name.endswith(suffix) for name in names for suffix in suffixes):
            return layout
    expected = ", ".join(f"{folder.name}{s}" for s in LAYOUTS["brats2023"])
    raise DataError(f"{folder}: no BraTS files found (expected e.g. {expected})")


def _read_participants(root: Path) -> dict[str, tuple[float | None, str | None]]:
    path = root / "participants.tsv"
    if not path.is_file():
        return {}
    out: dict[str, tuple[float | None, str | None]] = {}
    try:
        with path.open(newline="") as handle:
            for row_number, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
                case = row.get("case_id") or row.get("participant_id")
                if not case:
                    raise DataError(f"{path}: line {row_number}: no case_id/participant_id")
                age_text = (row.get("age") or "").strip()
                try:
                    age = float(age_text) if age_text and age_text.lower() != "n/a" else None
                except ValueError as error:
                    raise DataError(
                        f"{path}: line {row_number}: age {age_text!r} is not a number"
                    ) from error
                out[case] = (age, (row.get("sex") or "").strip() or None)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: unreadable ({error})") from error
    return out


def find_cases(root: str | Path) -> list[BraTSCase]:
    """All case folders under ``root`` (sorted); raise ``DataError`` naming any missing file."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: data directory not found")
    participants = _read_participants(root)
    cases = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        layout = _detect_layout(folder)
        paths = [folder / f"{folder.name}{suffix}" for suffix in LAYOUTS[layout]]
        for path in paths:
            if not path.is_file():
                raise DataError(f"{folder}: missing {path.name} ({layout} layout)")
        age, sex = participants.get(folder.name, (None, None))
        cases.append(
            BraTSCase(folder.name, layout, tuple(paths[:4]), paths[4], age, sex)  # type: ignore[arg-type]
        )
    if not cases:
        raise DataError(
            f"{root}: no case folders (expected BraTS layout DIR/<case>/<case>-t1n.nii.gz)"
        )
    return cases


def split_cases(
    cases: list[BraTSCase], val_fraction: float
) -> tuple[list[BraTSCase], list[BraTSCase]]:
    """Deterministic split: the last ``ceil(n * val_fraction)`` cases (by id) are held out."""
    if len(cases) < 2:
        raise DataError(f"need at least 2 cases to hold some out, found {len(cases)}")
    ordered = sorted(cases, key=lambda c: c.case_id)
    n_val = min(max(1, math.ceil(len(ordered) * val_fraction)), len(ordered) - 1)
    return ordered[:-n_val], ordered[-n_val:]


def normalise_intensity(volume: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """Divide by the 99.5th percentile inside the brain and clip to [0, 1]."""
    inside = volume[brain]
    scale = float(np.percentile(inside, INTENSITY_PERCENTILE)) if inside.size else 0.0
    if scale <= 0:
        return np.zeros_like(volume, dtype=np.float32)
    return np.clip(volume / scale, 0.0, 1.0).astype(np.float32) * brain


def prepare_case(case: BraTSCase, model_shape: tuple[int, int, int]) -> PreparedCase:
    """Load, check and resample one case to the model grid."""
    try:
        volumes = [read_volume(p) for p in case.sequence_paths]
        seg = read_volume(case.seg_path, dtype=None)
        for path, vol in zip(
            (*case.sequence_paths[1:], case.seg_path), (*volumes[1:], seg), strict=True
        ):
            if vol.data.shape != volumes[0].data.shape:
                raise DataError(
                    f"{path}: shape {vol.data.shape} differs from "
                    f"{case.sequence_paths[0].name} {volumes[0].data.shape}"
                )
            check_same_grid(
                volumes[0].affine,
                vol.affine,
                what_a=str(case.sequence_paths[0]),
                what_b=str(path),
            )
    except DataError:
        raise
    except GeneratorInputError as error:
        raise DataError(str(error)) from error
    affine = volumes[0].affine
    labels = np.rint(np.asarray(seg.data, dtype=np.float64))
    if case.layout == "brats2021":
        labels[labels == BRATS2021_ENHANCING] = 3
    bad = sorted(set(np.unique(labels).astype(int).tolist()) - {0, 1, 2, 3})
    if bad:
        raise DataError(
            f"{case.seg_path}: labels {bad[:5]} are not BraTS labels (0-3, or 4 in 2021)"
        )
    labels = to_ras(labels.astype(np.uint8), affine)
    images = [to_ras(np.asarray(v.data, dtype=np.float32), affine) for v in volumes]
    brain = np.zeros(labels.shape, dtype=bool)
    for image in images:
        brain |= image != 0
    brain |= labels > 0
    if not brain.any():
        raise DataError(f"{case.sequence_paths[0].parent}: all sequences are zero everywhere")
    fit = fit_grid(brain, model_shape)
    model_images = torch.cat(
        [fit.to_model(normalise_intensity(image, brain)) for image in images], dim=1
    )[0]
    fractions = label_fractions(labels, brain, fit)
    model_images = model_images * (fractions[0] > 0.5)
    return PreparedCase(
        case.case_id,
        model_images.contiguous(),
        resample_labels(fractions),
        fractions,
        covariate_vector(case.age_years, case.sex),
    )


class BraTSDataset(Dataset):
    """(case, sequence) items on the model grid; optionally cached in memory.

    Each item is a dict: ``image [1, *shape]``, ``labels [*shape]`` (int64), ``fractions
    [4, *shape]``, ``sequence`` (index into ``SEQUENCES``), ``covariates [3]``, ``case``.
    """

    def __init__(
        self, cases: list[BraTSCase], model_shape: tuple[int, int, int], *, cache: bool = True
    ) -> None:
        self.cases = list(cases)
        self.model_shape = tuple(model_shape)
        self.cache = cache
        self._prepared: dict[int, PreparedCase] = {}

    def __len__(self) -> int:
        return len(self.cases) * len(SEQUENCES)

    def case(self, index: int) -> PreparedCase:
        if index in self._prepared:
            return self._prepared[index]
        prepared = prepare_case(self.cases[index], self.model_shape)  # type: ignore[arg-type]
        if self.cache:
            self._prepared[index] = prepared
        return prepared

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str | int]:
        case_index, sequence = divmod(int(index), len(SEQUENCES))
        prepared = self.case(case_index)
        return {
            "image": prepared.images[sequence : sequence + 1],
            "labels": prepared.labels,
            "fractions": prepared.fractions,
            "sequence": sequence,
            "covariates": prepared.covariates,
            "case": prepared.case_id,
        }
