"""Imaging read-outs of a tumour state: BraTS label map, compartment volumes, RANO measurements.

Labels (BraTS 2023): 1 necrotic core, 2 peritumoral oedema (T2/FLAIR-visible), 3 enhancing tumour
(T1-Gd-visible), from density thresholds (Swanson 2008: T1-Gd where c >= 0.8, T2/FLAIR where
c >= 0.16). Bidimensional measurement (Wen 2010): per lesion, the longest diameter on an axial
slice and the longest diameter perpendicular to it; measurable when both are >= 10 mm; the SPD
sums the products of the (up to 5) largest measurable lesions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

NECROSIS, EDEMA, ENHANCING = 1, 2, 3
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Volumes:
    enhancing_ml: float
    necrosis_ml: float
    edema_ml: float

    @property
    def flair_ml(self) -> float:
        return self.enhancing_ml + self.necrosis_ml + self.edema_ml


@dataclass(frozen=True)
class Lesion:
    longest_mm: float
    perpendicular_mm: float
    slice_index: int

    @property
    def product_mm2(self) -> float:
        return self.longest_mm * self.perpendicular_mm


def label_map(
    visible: np.ndarray,
    necrosis: np.ndarray,
    *,
    enhancing_density: float,
    flair_density: float,
) -> np.ndarray:
    """BraTS labels (uint8) from the visible density and the persistent necrosis mask."""
    labels = np.zeros(visible.shape, dtype=np.uint8)
    labels[visible >= flair_density] = EDEMA
    labels[visible >= enhancing_density] = ENHANCING
    labels[necrosis.astype(bool) & (labels > 0)] = NECROSIS
    return labels


def volumes(labels: np.ndarray, voxel_size_mm: float) -> Volumes:
    voxel_ml = voxel_size_mm**3 / 1000.0
    counts = np.bincount(labels.ravel(), minlength=4)
    return Volumes(
        enhancing_ml=float(counts[ENHANCING]) * voxel_ml,
        necrosis_ml=float(counts[NECROSIS]) * voxel_ml,
        edema_ml=float(counts[EDEMA]) * voxel_ml,
    )


def _diameters(points_mm: np.ndarray, boundary_mm: np.ndarray, voxel_size_mm: float):
    """Longest diameter of a 2-D pixel set and the longest extent perpendicular to it (mm)."""
    diff = boundary_mm[:, None, :] - boundary_mm[None, :, :]
    dist2 = np.einsum("abk,abk->ab", diff, diff)
    a, b = np.unravel_index(int(np.argmax(dist2)), dist2.shape)
    longest = float(np.sqrt(dist2[a, b]))
    if longest == 0:
        return voxel_size_mm, voxel_size_mm
    u = (boundary_mm[a] - boundary_mm[b]) / longest
    w = np.array([-u[1], u[0]])
    proj = points_mm @ w
    # pixel centres -> edges: add one voxel to both extents
    return longest + voxel_size_mm, float(proj.max() - proj.min()) + voxel_size_mm


def measure_lesions(labels: np.ndarray, voxel_size_mm: float) -> list[Lesion]:
    """Bidimensional measurement of every enhancing lesion (axial slices are the last axis)."""
    lesion_mask = (labels == ENHANCING) | (labels == NECROSIS)
    components, count = ndimage.label(lesion_mask)
    lesions: list[Lesion] = []
    if count == 0:
        return lesions
    enhancing = labels == ENHANCING
    objects = ndimage.find_objects(components)
    for index, bbox in enumerate(objects, start=1):
        comp = components[bbox] == index
        if not np.any(enhancing[bbox] & comp):
            continue
        best: Lesion | None = None
        for z in range(comp.shape[2]):
            sl = comp[:, :, z]
            if not sl.any():
                continue
            eroded = ndimage.binary_erosion(sl, border_value=0)
            boundary = np.argwhere(sl & ~eroded).astype(float) * voxel_size_mm
            points = np.argwhere(sl).astype(float) * voxel_size_mm
            longest, perpendicular = _diameters(points, boundary, voxel_size_mm)
            candidate = Lesion(longest, perpendicular, bbox[2].start + z)
            if best is None or (candidate.longest_mm, candidate.product_mm2) > (
                best.longest_mm,
                best.product_mm2,
            ):
                best = candidate
        if best is not None:
            lesions.append(best)
    lesions.sort(key=lambda lesion: (-lesion.product_mm2, lesion.slice_index))
    return lesions


def sum_of_products_mm2(lesions: list[Lesion], *, measurable_mm: float, max_lesions: int) -> float:
    """SPD over the largest measurable lesions (both diameters >= ``measurable_mm``)."""
    measurable = [
        lesion
        for lesion in lesions
        if lesion.longest_mm >= measurable_mm and lesion.perpendicular_mm >= measurable_mm
    ]
    return float(sum(lesion.product_mm2 for lesion in measurable[:max_lesions]))
