"""Per-subject label maps on MEDIA_ROOT: one deterministic .npz per subject, written atomically.

Each file holds, for every visit, the cropped uint8 BraTS label map and its origin on the full
grid, plus the grid shape and affine. The zip entries carry a fixed timestamp, so the same
subject always gives byte-identical files (numpy's own savez stamps the current time).
"""

import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


@dataclass(frozen=True)
class StoredLabelMap:
    origin: tuple[int, int, int]
    labels: np.ndarray
    grid_shape: tuple[int, int, int]
    affine: np.ndarray

    def to_full(self) -> np.ndarray:
        full = np.zeros(self.grid_shape, dtype=np.uint8)
        x, y, z = self.origin
        dx, dy, dz = self.labels.shape
        full[x : x + dx, y : y + dy, z : z + dz] = self.labels
        return full


def label_map_relpath(*, run_id: int, subject_id: str) -> str:
    return f"runs/{run_id}/labels/{subject_id}.npz"


def _array_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_subject_label_maps(*, relpath: str, visits: dict[int, object]) -> Path:
    """Write ``visits`` (visit -> CroppedLabelMap-like) to MEDIA_ROOT/relpath atomically."""
    path = Path(settings.MEDIA_ROOT) / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for visit in sorted(visits):
        crop = visits[visit]
        arrays[f"visit_{visit:03d}_labels"] = np.asarray(crop.labels, dtype=np.uint8)
        arrays[f"visit_{visit:03d}_origin"] = np.asarray(crop.origin, dtype=np.int32)
        arrays.setdefault("grid_shape", np.asarray(crop.grid_shape, dtype=np.int32))
        arrays.setdefault("affine", np.asarray(crop.affine, dtype=np.float64))
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(arrays):
                info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, _array_bytes(arrays[name]))
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def read_subject_label_map(*, relpath: str, visit: int) -> StoredLabelMap:
    """One visit's label map; raises KeyError when the subject has no such visit."""
    path = Path(settings.MEDIA_ROOT) / relpath
    with np.load(path, allow_pickle=False) as data:
        key = f"visit_{visit:03d}_labels"
        if key not in data.files:
            raise KeyError(f"no label map for visit {visit} in {relpath}")
        return StoredLabelMap(
            origin=tuple(int(v) for v in data[f"visit_{visit:03d}_origin"]),
            labels=data[key],
            grid_shape=tuple(int(v) for v in data["grid_shape"]),
            affine=data["affine"],
        )
