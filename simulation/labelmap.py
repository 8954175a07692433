"""Cropped BraTS label maps: only the box around the tumour is kept in memory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CroppedLabelMap:
    """A label map stored as the crop ``labels`` whose corner is voxel ``origin`` of the grid."""

    origin: tuple[int, int, int]
    labels: np.ndarray  # uint8, BraTS 0 background, 1 necrosis, 2 oedema, 3 enhancing
    grid_shape: tuple[int, int, int]
    affine: np.ndarray  # 4x4 float64, RAS mm, MNI space

    def to_full(self) -> np.ndarray:
        """The label map on the full grid (uint8)."""
        full = np.zeros(self.grid_shape, dtype=np.uint8)
        o = self.origin
        s = self.labels.shape
        full[o[0] : o[0] + s[0], o[1] : o[1] + s[1], o[2] : o[2] + s[2]] = self.labels
        return full


def crop_to_labels(
    labels: np.ndarray,
    origin: tuple[int, int, int],
    grid_shape: tuple[int, int, int],
    affine: np.ndarray,
) -> CroppedLabelMap:
    """Crop ``labels`` (whose corner is ``origin``) to the bounding box of its non-zero voxels."""
    nonzero = np.argwhere(labels > 0)
    if len(nonzero) == 0:
        centre = tuple(int(origin[d] + labels.shape[d] // 2) for d in range(3))
        return CroppedLabelMap(centre, np.zeros((1, 1, 1), np.uint8), grid_shape, affine)
    lo = nonzero.min(axis=0)
    hi = nonzero.max(axis=0) + 1
    crop = np.ascontiguousarray(labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], dtype=np.uint8)
    corner = tuple(int(origin[d] + lo[d]) for d in range(3))
    return CroppedLabelMap(corner, crop, grid_shape, affine)  # type: ignore[arg-type]
