"""NIfTI-1 reading and writing with stable checksums.

Volumes are stored as int16 with ``scl_slope``/``scl_inter`` scaling, segmentations as uint8
BraTS labels. Files are gzipped with ``mtime=0`` and no embedded file name, so the same array
always gives the same bytes, and written to a temporary file that is renamed into place, so a
crash never leaves a half-written volume behind.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Literal, NamedTuple

import nibabel as nib
import numpy as np

from generator.engine import BRATS_LABELS, SEQUENCES, GeneratorInputError

__all__ = [
    "BRATS_PREFIX",
    "NiftiReadError",
    "Volume",
    "brats_case_id",
    "brats_filename",
    "parse_brats_case_id",
    "pow2_slope",
    "read_segmentation",
    "read_volume",
    "write_segmentation",
    "write_volume",
]

#: BraTS 2023 adult glioma case prefix: ``BraTS-GLI-<subject 5 digits>-<timepoint 3 digits>``.
BRATS_PREFIX = "BraTS-GLI"

#: NIfTI-1 xform codes (nifti1.h): 1 scanner-anatomical, 4 MNI-152 normalised coordinates.
XFORM_CODES: dict[str, int] = {"scanner": 1, "mni": 4}

#: Largest int16 magnitude used for scaled data.
INT16_MAX = 32767

#: Header text field sizes (nifti1.h): descrip is char[80], aux_file char[24].
DESCRIP_BYTES = 80
AUX_FILE_BYTES = 24

#: Data offset of a single-file NIfTI-1 without extensions: 348-byte header + 4-byte flag.
NIFTI1_VOX_OFFSET = 352

#: Permissions of written files (mkstemp would leave 0600).
FILE_MODE = 0o644

#: gzip level: 6 is zlib's default trade-off; deterministic for a given zlib build.
GZIP_LEVEL = 6

Space = Literal["scanner", "mni"]


class NiftiReadError(GeneratorInputError):
    """A NIfTI file that cannot be read (missing, corrupt, truncated, wrong content)."""


class Volume(NamedTuple):
    """A loaded volume: data (float32 after scaling, or uint8 labels), affine and header."""

    data: np.ndarray
    affine: np.ndarray
    header: nib.Nifti1Header


# --------------------------------------------------------------------------- file names


def brats_case_id(subject: int, visit: int) -> str:
    """``BraTS-GLI-00001-000`` for subject 1, visit (timepoint) 0."""
    if isinstance(subject, bool) or not isinstance(subject, int | np.integer):
        raise GeneratorInputError(f"subject: BraTS subject number must be an int, got {subject!r}")
    if isinstance(visit, bool) or not isinstance(visit, int | np.integer):
        raise GeneratorInputError(f"visit: BraTS timepoint must be an int, got {visit!r}")
    if not 0 <= subject <= 99999:
        raise GeneratorInputError(f"subject: {subject} outside BraTS range 0..99999")
    if not 0 <= visit <= 999:
        raise GeneratorInputError(f"visit: {visit} outside BraTS range 0..999")
    return f"{BRATS_PREFIX}-{int(subject):05d}-{int(visit):03d}"


def brats_filename(subject: int, visit: int, sequence_or_seg: str) -> str:
    """BraTS 2023 file name, e.g. ``BraTS-GLI-00001-000-t1n.nii.gz`` or ``...-seg.nii.gz``."""
    if sequence_or_seg not in (*SEQUENCES, "seg"):
        choices = ", ".join((*SEQUENCES, "seg"))
        raise GeneratorInputError(f"sequence: unknown {sequence_or_seg!r} (choices: {choices})")
    return f"{brats_case_id(subject, visit)}-{sequence_or_seg}.nii.gz"


_CASE_RE = re.compile(r"^BraTS-GLI-(\d{5})-(\d{3})$")


def parse_brats_case_id(case_id: str) -> tuple[int, int]:
    """Inverse of ``brats_case_id``: ``(subject, visit)``."""
    match = _CASE_RE.match(case_id)
    if match is None:
        raise GeneratorInputError(f"case id: {case_id!r} is not BraTS-GLI-NNNNN-NNN")
    return int(match.group(1)), int(match.group(2))


# --------------------------------------------------------------------------- writing


def _ascii_field(text: str, size: int, field: str) -> bytes:
    raw = text.encode("ascii", errors="replace")
    if len(raw) > size:
        raise GeneratorInputError(f"{field}: {len(raw)} bytes, NIfTI allows at most {size}")
    return raw


def pow2_slope(max_abs: float) -> float:
    """Smallest power of two with ``max_abs / slope <= INT16_MAX``.

    A power of two (rather than max/32767) keeps the quantisation grid identical across volumes
    of similar range, so voxels that are equal in float are equal on disk at every visit.
    """
    if max_abs <= 0.0 or not math.isfinite(max_abs):
        return 1.0
    return float(2.0 ** math.ceil(math.log2(max_abs / INT16_MAX)))


def _build_header(
    img: nib.Nifti1Image, affine: np.ndarray, space: Space, description: str, aux_file: str
) -> None:
    if space not in XFORM_CODES:
        raise GeneratorInputError(f"space: {space!r} must be one of {sorted(XFORM_CODES)}")
    code = XFORM_CODES[space]
    img.set_sform(affine, code=code)
    img.set_qform(affine, code=code)
    header = img.header
    header.set_xyzt_units(xyz="mm", t="sec")
    header["descrip"] = _ascii_field(description, DESCRIP_BYTES, "description")
    header["aux_file"] = _ascii_field(aux_file, AUX_FILE_BYTES, "aux_file")


def _nifti_bytes(img: nib.Nifti1Image, stored: np.ndarray) -> bytes:
    """Single-file NIfTI-1 bytes: 348-byte header, empty extension flag, Fortran-order data.

    Built by hand because nibabel's writer recomputes ``scl_slope``/``scl_inter`` for
    integer arrays; ours must stay the power-of-two slope chosen in ``write_volume``.
    """
    header = img.header
    header.set_data_shape(stored.shape)
    header["vox_offset"] = NIFTI1_VOX_OFFSET
    little = stored.astype(stored.dtype.newbyteorder("<"), copy=False)
    header = header.as_byteswapped("<") if header.endianness != "<" else header
    return header.binaryblock + b"\x00" * 4 + little.tobytes(order="F")


def _atomic_write_gz(path: Path, img: nib.Nifti1Image, stored: np.ndarray) -> None:
    payload = gzip.compress(_nifti_bytes(img, stored), compresslevel=GZIP_LEVEL, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp_name, FILE_MODE)  # mkstemp creates 0600
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _check_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.name.endswith(".nii.gz"):
        raise GeneratorInputError(f"{path}: output file name must end in .nii.gz")
    return path


def write_volume(
    path: str | os.PathLike[str],
    data: np.ndarray,
    affine: np.ndarray,
    *,
    description: str,
    aux_file: str = "",
    space: Space = "scanner",
    slope: float | None = None,
    intent: str = "none",
) -> Path:
    """Write a 3-D intensity volume as int16 with scaling to ``path`` (.nii.gz); return it.

    ``slope`` defaults to the smallest power of two that fits the data's range; ``cal_min`` /
    ``cal_max`` are set to the data range so viewers (NiiVue) open with a sensible window.
    ``space`` picks sform/qform code 1 (scanner) or 4 (MNI152); ``intent`` is a NIfTI intent
    name (``"none"`` for images, e.g. ``"estimate"`` for model outputs).
    """
    path = _check_path(path)
    data = np.asarray(data)
    if data.ndim != 3:
        raise GeneratorInputError(f"{path}: volume must be 3-D, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise GeneratorInputError(f"{path}: volume contains NaN or infinite values")
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise GeneratorInputError(f"{path}: affine must be 4x4, got {affine.shape}")
    max_abs = float(np.abs(data).max()) if data.size else 0.0
    slope = pow2_slope(max_abs) if slope is None else float(slope)
    if slope <= 0.0 or max_abs / slope > INT16_MAX + 0.5:
        raise GeneratorInputError(f"{path}: slope {slope} cannot store values up to {max_abs}")
    stored = np.rint(np.asarray(data, dtype=np.float64) / slope).astype(np.int16)
    img = nib.Nifti1Image(stored, affine)
    img.header.set_data_dtype(np.int16)
    img.header.set_slope_inter(slope, 0.0)
    img.header["cal_min"] = float(data.min()) if data.size else 0.0
    img.header["cal_max"] = max_abs
    try:
        img.header.set_intent(intent)
    except KeyError:
        raise GeneratorInputError(f"intent: unknown NIfTI intent {intent!r}") from None
    _build_header(img, affine, space, description, aux_file)
    _atomic_write_gz(path, img, stored)
    return path


def write_segmentation(
    path: str | os.PathLike[str],
    labels: np.ndarray,
    affine: np.ndarray,
    *,
    description: str = "BraTS 2023 labels: 1 necrosis, 2 oedema, 3 enhancing",
    aux_file: str = "seg",
    space: Space = "scanner",
) -> Path:
    """Write a BraTS label map as uint8 (intent ``label``) to ``path`` (.nii.gz); return it."""
    path = _check_path(path)
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise GeneratorInputError(f"{path}: label map must be 3-D, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise GeneratorInputError(f"{path}: label map must be integer, got {labels.dtype}")
    bad = sorted(set(np.unique(labels).tolist()) - set(BRATS_LABELS))
    if bad:
        raise GeneratorInputError(f"{path}: values {bad[:5]} are not BraTS labels")
    affine = np.asarray(affine, dtype=np.float64)
    stored = labels.astype(np.uint8)
    img = nib.Nifti1Image(stored, affine)
    img.header.set_data_dtype(np.uint8)
    img.header.set_slope_inter(1.0, 0.0)
    img.header.set_intent("label")
    img.header["cal_min"] = 0.0
    img.header["cal_max"] = float(max(BRATS_LABELS))
    _build_header(img, affine, space, description, aux_file)
    _atomic_write_gz(path, img, stored)
    return path


# --------------------------------------------------------------------------- reading


def read_volume(path: str | os.PathLike[str], *, dtype: type | None = np.float32) -> Volume:
    """Load a NIfTI volume completely; any corruption raises ``NiftiReadError`` naming the file.

    The data is decompressed here (not lazily), so a truncated gzip fails now, not later.
    ``dtype=None`` keeps the stored type (no scaling applied: use it for label maps).
    """
    path = Path(path)
    if not path.is_file():
        raise NiftiReadError(f"{path}: file not found")
    try:
        img = nib.load(path)
        if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
            raise NiftiReadError(f"{path}: not a NIfTI image ({type(img).__name__})")
        if dtype is None:
            data = np.asarray(img.dataobj.get_unscaled())
        else:
            data = np.asarray(img.dataobj, dtype=dtype)
        affine = np.asarray(img.affine, dtype=np.float64)
    except NiftiReadError:
        raise
    except Exception as error:  # nibabel, gzip and zlib raise a zoo of types for bad files
        text = str(error).replace(f'"{path}"', "the file").replace(str(path), "the file")
        reason = text.strip().splitlines()[0] if text.strip() else type(error).__name__
        raise NiftiReadError(f"{path}: corrupt or truncated NIfTI ({reason})") from error
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    data = np.ascontiguousarray(data)  # nibabel's arrays are Fortran-ordered
    if data.ndim != 3:
        raise NiftiReadError(f"{path}: expected a 3-D volume, got shape {data.shape}")
    if np.issubdtype(data.dtype, np.floating) and not np.all(np.isfinite(data)):
        raise NiftiReadError(f"{path}: volume contains NaN or infinite values")
    return Volume(data=data, affine=affine, header=img.header)


def read_segmentation(path: str | os.PathLike[str]) -> Volume:
    """Load a BraTS label map as uint8; values outside {0, 1, 2, 3} raise ``NiftiReadError``."""
    volume = read_volume(path, dtype=None)
    data = volume.data
    if not np.issubdtype(data.dtype, np.integer):
        if not np.array_equal(np.rint(data), data):
            raise NiftiReadError(f"{path}: label map has non-integer values")
    low, high = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    if low < 0 or high > max(BRATS_LABELS):
        bad = sorted(set(np.unique(data).astype(np.int64).tolist()) - set(BRATS_LABELS))
        raise NiftiReadError(
            f"{path}: values {bad[:5]} are not BraTS 2023 labels {sorted(BRATS_LABELS)}"
        )
    return Volume(data=data.astype(np.uint8), affine=volume.affine, header=volume.header)
