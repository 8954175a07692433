"""Proliferation-invasion (Fisher-KPP) growth on a subject's tissue map.

    dc/dt = div(D(x) grad c) + rho c (1 - c),  zero flux at the brain boundary (Swanson 2000)

Operator splitting per step: an explicit, conservative finite-volume diffusion step (face
diffusivities are harmonic means, so a face touching CSF or the outside of the brain carries no
flux) followed by the exact solution of the logistic reaction. The step is stable when the sum of
a voxel's face coefficients D dt / h^2 is <= 1; the day is split into as many sub-steps as needed.

Only an *active box* (the voxels where the density exceeds ``ACTIVE_DENSITY`` plus a margin) is
updated; it grows with the tumour. Every voxel's update depends only on its own neighbourhood, so a
subject's result never depends on which other subjects are simulated alongside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

ACTIVE_DENSITY = 1e-7  # voxels below this density (and beyond the margin) are not updated
ACTIVE_MARGIN_VOXELS = 3
BOX_UPDATE_EVERY_DAYS = 7
MAX_STEP_DAYS = 7  # accuracy cap on the explicit step (rho * dt stays below ~0.25)
STABILITY_LIMIT = 0.9  # max sum of face coefficients per sub-step
# Work counters of this process (read by the benchmark): voxel updates done by the kernel and
# simulated days, from which the full-grid daily-step equivalent is derived.
STATS = {"voxel_updates": 0, "kernel_calls": 0}


@numba.njit(cache=True, fastmath=False, nogil=True)
def _pi_step(
    c,
    out,
    dead,
    effect,
    kx,
    ky,
    kz,
    k_scale,
    growth,
    dead_decay,
    effect_decay,
    necrosis,
    necrosis_density,
    lo0,
    lo1,
    lo2,
    hi0,
    hi1,
    hi2,
):  # pragma: no cover
    """One diffusion + exact-logistic step over the box [lo, hi); returns the summed density.

    Serial on purpose: parallelism is across subjects (worker processes), which keeps every
    subject's arithmetic identical wherever it runs.
    """
    g1 = growth - np.float32(1.0)
    one = np.float32(1.0)
    total = 0.0
    for i in range(lo0, hi0):
        for j in range(lo1, hi1):
            for k in range(lo2, hi2):
                c0 = c[i, j, k]
                flux = (
                    kx[i, j, k] * (c[i + 1, j, k] - c0)
                    + kx[i - 1, j, k] * (c[i - 1, j, k] - c0)
                    + ky[i, j, k] * (c[i, j + 1, k] - c0)
                    + ky[i, j - 1, k] * (c[i, j - 1, k] - c0)
                    + kz[i, j, k] * (c[i, j, k + 1] - c0)
                    + kz[i, j, k - 1] * (c[i, j, k - 1] - c0)
                )
                ch = c0 + k_scale * flux
                v = ch * growth / (one + ch * g1)
                out[i, j, k] = v
                total += v
                dead[i, j, k] *= dead_decay
                effect[i, j, k] *= effect_decay
                necrosis[i, j, k] |= np.uint8(v >= necrosis_density)
    return total


@numba.njit(cache=True, nogil=True)
def _box_of(c, threshold, lo, hi):  # pragma: no cover
    """Bounding box (lo, hi) of voxels above ``threshold`` within [lo, hi); (-1..) if none."""
    blo = np.array([1 << 30, 1 << 30, 1 << 30])
    bhi = np.array([-1, -1, -1])
    for i in range(lo[0], hi[0]):
        for j in range(lo[1], hi[1]):
            for k in range(lo[2], hi[2]):
                if c[i, j, k] > threshold:
                    if i < blo[0]:
                        blo[0] = i
                    if j < blo[1]:
                        blo[1] = j
                    if k < blo[2]:
                        blo[2] = k
                    if i > bhi[0]:
                        bhi[0] = i
                    if j > bhi[1]:
                        bhi[1] = j
                    if k > bhi[2]:
                        bhi[2] = k
    return blo, bhi + 1


def face_coefficients(
    diffusivity_mm2_per_day: np.ndarray, voxel_size_mm: float, dt_day: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """kx[i] couples voxel i and i+1 along x: harmonic-mean D * dt / h^2 (0 at the domain edge)."""
    d = diffusivity_mm2_per_day.astype(np.float64)
    scale = dt_day / voxel_size_mm**2
    out = []
    for axis in range(3):
        a = np.take(d, range(d.shape[axis] - 1), axis=axis)
        b = np.take(d, range(1, d.shape[axis]), axis=axis)
        with np.errstate(invalid="ignore", divide="ignore"):
            face = np.where((a > 0) & (b > 0), 2 * a * b / (a + b), 0.0) * scale
        full = np.zeros_like(d)
        index = [slice(None)] * 3
        index[axis] = slice(0, d.shape[axis] - 1)
        full[tuple(index)] = face
        out.append(np.ascontiguousarray(full, dtype=np.float32))
    return out[0], out[1], out[2]


@dataclass
class GrowthDomain:
    """State of one tumour on its simulation domain (a box of the full grid starting at origin)."""

    origin: tuple[int, int, int]
    voxel_size_mm: float
    diffusivity: np.ndarray  # mm^2/day per voxel (0 outside brain, in CSF and in the cavity)
    density: np.ndarray  # tumour-cell density c, float32 0..1
    dead: np.ndarray  # treatment-killed cells not yet cleared (still enhancing)
    effect: np.ndarray  # treatment-effect enhancement (pseudoprogression)
    necrosis: np.ndarray  # uint8 persistent necrotic core
    cavity: np.ndarray  # bool resection cavity
    rho_per_day: float
    necrosis_density: float = 0.96
    peak_coefficient_per_day: float = 0.0

    def __post_init__(self) -> None:
        self._spare = self.density.copy()
        self.box_lo = np.ones(3, dtype=np.int64)
        self.box_hi = np.array(self.density.shape, dtype=np.int64) - 1
        self.refresh_coefficients()
        self.update_box(force_full=True)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.density.shape)  # type: ignore[return-value]

    def refresh_coefficients(self) -> None:
        """Recompute face coefficients (after surgery changes the diffusivity map)."""
        kx, ky, kz = face_coefficients(self.diffusivity, self.voxel_size_mm, 1.0)
        total = np.zeros_like(kx)
        total += kx
        total[1:] += kx[:-1]
        total += ky
        total[:, 1:] += ky[:, :-1]
        total += kz
        total[:, :, 1:] += kz[:, :, :-1]
        self.peak_coefficient_per_day = float(total.max()) if total.size else 0.0
        self.kx, self.ky, self.kz = kx, ky, kz

    def max_stable_days(self) -> float:
        """Longest explicit step (days) within the stability limit."""
        return STABILITY_LIMIT / max(self.peak_coefficient_per_day, 1e-12)

    def update_box(self, force_full: bool = False) -> None:
        """Grow the active box to cover every voxel above ACTIVE_DENSITY plus the margin."""
        inner_lo = np.ones(3, dtype=np.int64)
        inner_hi = np.array(self.shape, dtype=np.int64) - 1
        if force_full:
            lo, hi = _box_of(self.density, ACTIVE_DENSITY, inner_lo, inner_hi)
        else:
            lo, hi = _box_of(self.density, ACTIVE_DENSITY, self.box_lo, self.box_hi)
        if hi[0] <= 0:  # no tumour left: keep a minimal box
            lo, hi = self.box_lo, self.box_lo + 1
        lo = np.maximum(lo - ACTIVE_MARGIN_VOXELS, inner_lo)
        hi = np.minimum(hi + ACTIVE_MARGIN_VOXELS, inner_hi)
        if force_full:
            self.box_lo, self.box_hi = lo, hi
        else:
            self.box_lo = np.minimum(self.box_lo, lo)
            self.box_hi = np.maximum(self.box_hi, hi)

    @property
    def box(self) -> tuple[slice, slice, slice]:
        return tuple(slice(int(a), int(b)) for a, b in zip(self.box_lo, self.box_hi, strict=True))  # type: ignore

    def grow(
        self,
        days: int = 1,
        rho_factor: float = 1.0,
        dead_decay_per_day: float = 1.0,
        effect_decay_per_day: float = 1.0,
    ) -> float:
        """Advance ``days`` days (in as few stable sub-steps as possible); returns the burden."""
        substeps = max(1, math.ceil(days / self.max_stable_days()))
        dt = days / substeps
        growth = np.float32(math.exp(self.rho_per_day * rho_factor * dt))
        dead_decay = np.float32(dead_decay_per_day**dt)
        effect_decay = np.float32(effect_decay_per_day**dt)
        lo, hi = self.box_lo, self.box_hi
        total = 0.0
        STATS["voxel_updates"] += int(np.prod(hi - lo)) * substeps
        STATS["kernel_calls"] += substeps
        for _ in range(substeps):
            total = _pi_step(
                self.density,
                self._spare,
                self.dead,
                self.effect,
                self.kx,
                self.ky,
                self.kz,
                np.float32(dt),
                growth,
                dead_decay,
                effect_decay,
                self.necrosis,
                np.float32(self.necrosis_density),
                int(lo[0]),
                int(lo[1]),
                int(lo[2]),
                int(hi[0]),
                int(hi[1]),
                int(hi[2]),
            )
            self.density, self._spare = self._spare, self.density
        self._burden_ml = total * self.voxel_size_mm**3 / 1000.0
        return self._burden_ml

    def sync(self) -> None:
        """Make the spare buffer equal to the density (after edits outside :meth:`grow`)."""
        np.copyto(self._spare, self.density)

    def burden_ml(self) -> float:
        """Tumour-cell burden: sum of densities times the voxel volume (mL)."""
        voxel_ml = self.voxel_size_mm**3 / 1000.0
        return float(self.density[self.box].sum(dtype=np.float64)) * voxel_ml

    def kill(self, surviving_fraction: float) -> None:
        """Kill a fraction of the tumour cells everywhere; the dead keep enhancing until cleared."""
        box = self.box
        killed = self.density[box] * np.float32(1.0 - surviving_fraction)
        self.density[box] -= killed
        self.dead[box] += killed

    def visible_density(self) -> np.ndarray:
        """What imaging sees: living + dying tumour + treatment effect (capped at 1)."""
        box = self.box
        return np.minimum(self.density[box] + self.dead[box] + self.effect[box], 1.0)
