"""Fitting a subject's grid onto the model's fixed grid and back.

The tiny model works on 32^3 voxels, the paper model on 160x192x160; subjects come on any grid
(2 mm MNI 99x117x95, 1 mm BraTS 240x240x155). We crop to the brain's bounding box (plus a
margin), resample that box to the model grid (trilinear for images, voxel fractions for labels)
and, after generation, resample the model output back into the box and paste it into the full
grid. Training and rendering use the same functions, so the model always sees brains framed
the same way. The aspect ratio is not preserved: each axis is scaled on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

__all__ = [
    "GridFit",
    "fit_grid",
    "from_ras",
    "label_fractions",
    "resample_labels",
    "to_ras",
]

#: Voxels of margin kept around the brain's bounding box.
BOX_MARGIN_VOXELS = 2


@dataclass(frozen=True)
class GridFit:
    """The crop box of a subject's grid and the model grid it maps to."""

    full_shape: tuple[int, int, int]
    box: tuple[slice, slice, slice]
    model_shape: tuple[int, int, int]

    @property
    def box_shape(self) -> tuple[int, int, int]:
        return tuple(s.stop - s.start for s in self.box)  # type: ignore[return-value]

    def to_model(self, volume: np.ndarray, *, mode: str = "trilinear") -> torch.Tensor:
        """Crop + resample a volume to ``[1, 1, *model_shape]`` float32."""
        box = torch.from_numpy(np.ascontiguousarray(volume[self.box], dtype=np.float32))
        return _resize(box[None, None], self.model_shape, mode)

    def to_full(self, volume: torch.Tensor) -> np.ndarray:
        """Resample ``[*model_shape]`` back into the box and paste it into a zero full grid."""
        box = _resize(volume.float().reshape(1, 1, *self.model_shape), self.box_shape, "trilinear")
        out = np.zeros(self.full_shape, dtype=np.float32)
        out[self.box] = box[0, 0].numpy()
        return out


def _resize(x: torch.Tensor, shape: tuple[int, ...], mode: str) -> torch.Tensor:
    if tuple(x.shape[2:]) == tuple(shape):
        return x
    if mode == "area":
        return F.interpolate(x, size=shape, mode="area")
    return F.interpolate(x, size=shape, mode=mode, align_corners=False)


def fit_grid(brain_mask: np.ndarray, model_shape: tuple[int, int, int]) -> GridFit:
    """The crop box around ``brain_mask`` (or the whole grid when the mask is empty)."""
    mask = np.asarray(brain_mask, dtype=bool)
    if not mask.any():
        box = tuple(slice(0, n) for n in mask.shape)
    else:
        box_list = []
        for axis in range(3):
            other = tuple(a for a in range(3) if a != axis)
            hit = np.nonzero(mask.any(axis=other))[0]
            lo = max(int(hit[0]) - BOX_MARGIN_VOXELS, 0)
            hi = min(int(hit[-1]) + 1 + BOX_MARGIN_VOXELS, mask.shape[axis])
            box_list.append(slice(lo, hi))
        box = tuple(box_list)
    return GridFit(tuple(mask.shape), box, tuple(model_shape))  # type: ignore[arg-type]


def label_fractions(labels: np.ndarray, brain_mask: np.ndarray, fit: GridFit) -> torch.Tensor:
    """``[4, *model_shape]`` voxel fractions of brain, necrosis, oedema, enhancing."""
    channels = [np.asarray(brain_mask, dtype=np.float32)]
    channels += [(labels == k).astype(np.float32) for k in (1, 2, 3)]
    return torch.cat([fit.to_model(c, mode="trilinear") for c in channels], dim=1)[0]


def resample_labels(fractions: torch.Tensor) -> torch.Tensor:
    """Model-grid label map (int64) from ``label_fractions``: the majority class per voxel."""
    tumour = fractions[1:]
    background = 1.0 - tumour.sum(dim=0, keepdim=True)
    return torch.cat([background, tumour], dim=0).argmax(dim=0)


def ras_orientation(affine: np.ndarray) -> np.ndarray:
    """nibabel orientation array that reorders a grid's axes to RAS+ (as_closest_canonical)."""
    import nibabel as nib

    return nib.orientations.io_orientation(np.asarray(affine, dtype=np.float64))


def to_ras(volume: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Flip/transpose ``volume`` so its axes run right, anterior, superior."""
    import nibabel as nib

    return nib.orientations.apply_orientation(volume, ras_orientation(affine))


def from_ras(volume: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Undo ``to_ras`` for a grid with ``affine``."""
    import nibabel as nib

    ornt = ras_orientation(affine)
    return nib.orientations.apply_orientation(volume, _inverse_ornt(ornt))


def _inverse_ornt(ornt: np.ndarray) -> np.ndarray:
    """Orientation that undoes ``apply_orientation(x, ornt)``."""
    inverse = np.zeros_like(ornt)
    for axis_in, (axis_out, flip) in enumerate(ornt):
        inverse[int(axis_out)] = (axis_in, flip)
    return inverse
