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
from collections.abc import Callable
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
# The tumour burden is summed in fixed point: each density rounded (half to even) to a multiple
# of 2^-40 and the integers added. Integer addition is exact in any order, so the burden is the
# same bits whatever the loop order, SIMD width or backend (the torch backend sums the same way).
FIXED_POINT_SCALE = 2.0**40


# error_model="numpy": no ZeroDivisionError branch in the loop (the logistic denominator is
# >= 1), which is what lets LLVM vectorise the inner loops. fastmath stays off: elementwise SIMD
# does the same IEEE float32 operations as scalar code, so results are bit-identical to a scalar
# kernel on any CPU.
@numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
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
    lane_sums,
    lo0,
    lo1,
    lo2,
    hi0,
    hi1,
    hi2,
):  # pragma: no cover
    """One diffusion + exact-logistic step over the box [lo, hi); returns the summed density
    in fixed point (units of 2^-40).

    Requires lo >= 1 and hi <= shape - 1 (the stencil reads one voxel beyond the box).

    Layout for SIMD: for each (i, j) row the work is split into short inner loops over k that
    LLVM vectorises (the stencil, which only stores ``out``; then necrosis and the burden; then
    each decay, skipped when its factor is exactly 1). Row views start at k = 0, so the indices
    are provably non-negative and numba emits no wrap-around selects. The burden is accumulated
    per k lane (``lane_sums``, int64 fixed point) and the lanes are added at the end: no serial
    float reduction in the vector loop.

    Serial on purpose: parallelism is across subjects (worker processes), which keeps every
    subject's arithmetic identical wherever it runs.
    """
    g1 = growth - np.float32(1.0)
    one = np.float32(1.0)
    n = hi2 - lo2
    decay_dead = dead_decay != one
    decay_effect = effect_decay != one
    for m in range(n):
        lane_sums[m] = 0
    for i in range(lo0, hi0):
        for j in range(lo1, hi1):
            c0r = c[i, j, lo2:hi2]
            czp = c[i, j, lo2 + 1 : hi2 + 1]
            czm = c[i, j, lo2 - 1 : hi2 - 1]
            cxp = c[i + 1, j, lo2:hi2]
            cxm = c[i - 1, j, lo2:hi2]
            cyp = c[i, j + 1, lo2:hi2]
            cym = c[i, j - 1, lo2:hi2]
            kxp = kx[i, j, lo2:hi2]
            kxm = kx[i - 1, j, lo2:hi2]
            kyp = ky[i, j, lo2:hi2]
            kym = ky[i, j - 1, lo2:hi2]
            kzp = kz[i, j, lo2:hi2]
            kzm = kz[i, j, lo2 - 1 : hi2 - 1]
            o = out[i, j, lo2:hi2]
            for m in range(n):
                c0 = c0r[m]
                flux = (
                    kxp[m] * (cxp[m] - c0)
                    + kxm[m] * (cxm[m] - c0)
                    + kyp[m] * (cyp[m] - c0)
                    + kym[m] * (cym[m] - c0)
                    + kzp[m] * (czp[m] - c0)
                    + kzm[m] * (czm[m] - c0)
                )
                ch = c0 + k_scale * flux
                o[m] = ch * growth / (one + ch * g1)
            nec = necrosis[i, j, lo2:hi2]
            for m in range(n):
                v = o[m]
                lane_sums[m] += np.int64(np.rint(np.float64(v) * FIXED_POINT_SCALE))
                nec[m] |= np.uint8(v >= necrosis_density)
            if decay_dead:
                d = dead[i, j, lo2:hi2]
                for m in range(n):
                    d[m] *= dead_decay
            if decay_effect:
                e = effect[i, j, lo2:hi2]
                for m in range(n):
                    e[m] *= effect_decay
    total = 0
    for m in range(n):
        total += lane_sums[m]
    return total


@numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def _kill(density, dead, lost, lo0, lo1, lo2, hi0, hi1, hi2):  # pragma: no cover
    """Move the fraction ``lost`` of the cells in the box to the dead compartment."""
    for i in range(lo0, hi0):
        for j in range(lo1, hi1):
            c = density[i, j, lo2:hi2]
            d = dead[i, j, lo2:hi2]
            for m in range(hi2 - lo2):
                killed = c[m] * lost
                c[m] -= killed
                d[m] += killed


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _box_of(c, threshold, lo, hi):  # pragma: no cover
    """Bounding box (lo, hi) of voxels above ``threshold`` within [lo, hi); (-1..) if none.

    Each row is first tested with a vectorised count; only rows with a hit are scanned, from
    each end, for their first and last hit.
    """
    blo = np.array([1 << 30, 1 << 30, 1 << 30])
    bhi = np.array([-1, -1, -1])
    n = hi[2] - lo[2]
    for i in range(lo[0], hi[0]):
        for j in range(lo[1], hi[1]):
            row = c[i, j, lo[2] : hi[2]]
            hits = 0
            for m in range(n):
                hits += row[m] > threshold
            if hits == 0:
                continue
            first = 0
            while not row[first] > threshold:
                first += 1
            last = n - 1
            while not row[last] > threshold:
                last -= 1
            blo[0] = min(blo[0], i)
            bhi[0] = max(bhi[0], i)
            blo[1] = min(blo[1], j)
            bhi[1] = max(bhi[1], j)
            blo[2] = min(blo[2], lo[2] + first)
            bhi[2] = max(bhi[2], lo[2] + last)
    return blo, bhi + 1


def fixed_point_sum(density: np.ndarray) -> int:
    """Sum of ``density`` in units of 2^-40 (see ``FIXED_POINT_SCALE``), exact."""
    scaled = np.rint(density.astype(np.float64) * FIXED_POINT_SCALE).astype(np.int64)
    return int(scaled.sum())


def fixed_point_ml(total: int, voxel_size_mm: float) -> float:
    """A fixed-point density sum as a burden in mL."""
    return total / FIXED_POINT_SCALE * (voxel_size_mm**3 / 1000.0)


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
        self._lane_sums = np.zeros(self.density.shape[2], dtype=np.int64)
        # Decaying an all-zero array is an exact no-op, so the kernel skips it until something
        # is put there (a kill, a treatment effect).
        self._dead_present = bool(self.dead.any())
        self._effect_present = bool(self.effect.any())
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
        one = np.float32(1.0)
        dead_decay = np.float32(dead_decay_per_day**dt) if self._dead_present else one
        effect_decay = np.float32(effect_decay_per_day**dt) if self._effect_present else one
        lo, hi = self.box_lo, self.box_hi
        total = 0
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
                self._lane_sums,
                int(lo[0]),
                int(lo[1]),
                int(lo[2]),
                int(hi[0]),
                int(hi[1]),
                int(hi[2]),
            )
            self.density, self._spare = self._spare, self.density
        return fixed_point_ml(total, self.voxel_size_mm)

    def sync(self) -> None:
        """Make the spare buffer equal to the density (after edits outside :meth:`grow`)."""
        np.copyto(self._spare, self.density)

    def burden_ml(self) -> float:
        """Tumour-cell burden: sum of densities over the active box times the voxel volume (mL)."""
        return fixed_point_ml(fixed_point_sum(self.density[self.box]), self.voxel_size_mm)

    def kill(self, surviving_fraction: float) -> None:
        """Kill a fraction of the tumour cells everywhere; the dead keep enhancing until cleared."""
        lost = np.float32(1.0 - surviving_fraction)
        if lost == 0:
            return
        lo, hi = self.box_lo, self.box_hi
        _kill(self.density, self.dead, lost, *(int(v) for v in lo), *(int(v) for v in hi))
        self._dead_present = True

    def add_treatment_effect(self, density: float, visible_at_least: float) -> None:
        """Add ``density`` of treatment-effect enhancement where living + dying tumour is visible."""
        box = self.box
        visible = self.density[box] + self.dead[box]
        self.effect[box] += np.float32(density) * (visible >= visible_at_least)
        self._effect_present = True

    def visible_density(self) -> np.ndarray:
        """What imaging sees: living + dying tumour + treatment effect (capped at 1)."""
        box = self.box
        return np.minimum(self.density[box] + self.dead[box] + self.effect[box], 1.0)

    def readout_arrays(self) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
        """Visible density and necrosis over the active box, and the box corner on the grid."""
        corner = tuple(int(self.origin[d] + self.box_lo[d]) for d in range(3))
        return self.visible_density(), self.necrosis[self.box], corner  # type: ignore[return-value]

    def modify_on_host(self, edit: Callable[[GrowthDomain], None]) -> None:
        """Apply ``edit`` (e.g. a resection) to this domain; it must leave the arrays consistent."""
        edit(self)
