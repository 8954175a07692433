"""Batched torch backend: many subjects' tumours advanced by one tensor step, on CPU or CUDA.

Each subject occupies one *slot* of a batch: its domain is copied into a ``[B, X, Y, Z]`` tensor
(padded to the largest domain of the resolution, with zero diffusivity, hence zero flux, in the
padding and a one-voxel zero halo so the stencil reads neighbours by slicing). Per-subject
scalars (sub-step length, logistic growth factor, decay factors) are ``[B, 1, 1, 1]`` tensors;
subjects that need fewer sub-steps than others in the same call are frozen by a mask.

The subjects' event loops are the generators of :func:`simulation.subject.subject_process`, run in
lockstep: each round collects every running subject's grow request, answers them all with one
batched :meth:`TorchBatch.grow`, and sends each subject its burden. A subject that finishes frees
its slot for the next one. The tumour state stays on the device; only visit read-outs, the
day-0 resection and burdens are transferred.

Every operation is elementwise per voxel with per-slot scalars (no reduction across voxels except
the burden, which is summed in 2^-40 fixed point, exactly, in any order, and the active-box
search, an exact ``any``), so a subject's result does not depend on which subjects share its batch
or which slot it gets. The step is the numba kernel's arithmetic, operation for operation, and it
is confined to the same active box (``GrowthDomain.update_box`` semantics) by a mask: on the CPU
the two backends give the same bits (asserted in ``tests/simulation/test_sim_torch.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from simulation.growth import (
    ACTIVE_DENSITY,
    ACTIVE_MARGIN_VOXELS,
    FIXED_POINT_SCALE,
    GrowthDomain,
    fixed_point_ml,
)
from simulation.regimens import Regimen
from simulation.spec import CohortSpec
from simulation.subject import (
    GrowRequest,
    SubjectProcess,
    SubjectResult,
    max_domain_shape,
    subject_process,
)

DEFAULT_BATCH_SIZE = {"cpu": 16, "cuda": 1024}
# Work counter of this process (read by the GPU benchmark): voxel updates the batched step did,
# frozen and empty slots included.
STATS = {"voxel_updates": 0, "rounds": 0}

_IN = slice(1, -1)
_INNER = (slice(None), _IN, _IN, _IN)


class TorchSlot:
    """One subject's tumour inside a :class:`TorchBatch` (implements ``subject.Domain``)."""

    def __init__(self, batch: TorchBatch, slot: int, host: GrowthDomain) -> None:
        self.batch = batch
        self.slot = slot
        self.voxel_size_mm = host.voxel_size_mm
        self.origin = tuple(int(v) for v in host.origin)
        self.shape = host.shape
        self.rho_per_day = host.rho_per_day
        self.necrosis_density = host.necrosis_density
        self.max_stable_days = host.max_stable_days()
        self._diffusivity = host.diffusivity
        self._cavity = host.cavity
        self.pending_lost: list[np.float32] = []
        self.dead_present = bool(host.dead.any())
        self.effect_present = bool(host.effect.any())
        self.cached_burden_ml: float | None = None
        self.box_lo = host.box_lo.copy()
        self.box_hi = host.box_hi.copy()
        self.box_stale = False
        batch.upload(self, host)

    # -- subject.Domain ---------------------------------------------------------------------
    def burden_ml(self) -> float:
        if self.cached_burden_ml is None:
            self.batch.prepare([self])
            self.cached_burden_ml = float(self.batch.burdens_ml([self])[0])
        return self.cached_burden_ml

    def update_box(self) -> None:
        """Grow the active box (done, batched, before the slot's next use)."""
        self.box_stale = True

    def kill(self, surviving_fraction: float) -> None:
        lost = np.float32(1.0 - surviving_fraction)
        if lost == 0:
            return
        self.pending_lost.append(lost)  # applied, batched, before the next step
        self.dead_present = True
        self.cached_burden_ml = None

    def add_treatment_effect(self, density: float, visible_at_least: float) -> None:
        self.batch.prepare([self])
        self.batch.add_treatment_effect(self, density, visible_at_least)
        self.effect_present = True

    def modify_on_host(self, edit: Callable[[GrowthDomain], None]) -> None:
        self.batch.prepare([self])
        host = self.batch.download(self)
        edit(host)
        self._diffusivity, self._cavity = host.diffusivity, host.cavity
        self.max_stable_days = host.max_stable_days()
        self.dead_present = self.dead_present or bool(host.dead.any())
        self.effect_present = self.effect_present or bool(host.effect.any())
        self.batch.upload(self, host)
        self.cached_burden_ml = None

    def readout_arrays(self) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
        self.batch.prepare([self])
        visible, necrosis = self.batch.readout(self)
        corner = tuple(int(self.origin[d] + self.box_lo[d]) for d in range(3))
        return visible, necrosis, corner  # type: ignore[return-value]

    def box_slices(self, halo: bool) -> tuple[int | slice, ...]:
        """Index of the slot's active box in a batch tensor (with or without the halo)."""
        o = 1 if halo else 0
        return (
            self.slot,
            *(slice(int(a) + o, int(b) + o) for a, b in zip(self.box_lo, self.box_hi, strict=True)),
        )


class TorchBatch:
    """The tumour states of up to ``capacity`` subjects as padded device tensors."""

    def __init__(
        self, capacity: int, domain_shape: tuple[int, int, int], device: str | torch.device
    ) -> None:
        self.capacity = capacity
        self.domain_shape = domain_shape
        self.device = torch.device(device)
        padded = (capacity, *(n + 2 for n in domain_shape))
        plain = (capacity, *domain_shape)
        f32 = {"dtype": torch.float32, "device": self.device}
        self.c = torch.zeros(padded, **f32)
        self.spare = torch.zeros(padded, **f32)
        self.kx = torch.zeros(padded, **f32)
        self.ky = torch.zeros(padded, **f32)
        self.kz = torch.zeros(padded, **f32)
        self.dead = torch.zeros(plain, **f32)
        self.effect = torch.zeros(plain, **f32)
        self.necrosis = torch.zeros(plain, dtype=torch.bool, device=self.device)
        self.necrosis_density = torch.ones((capacity, 1, 1, 1), **f32)
        self.slots: list[TorchSlot | None] = [None] * capacity
        self._axes = [  # [1, X, 1, 1], [1, 1, Y, 1], [1, 1, 1, Z] voxel indices
            torch.arange(n, device=self.device).view(1, *(n if d == a else 1 for d in range(3)))
            for a, n in enumerate(domain_shape)
        ]

    # -- slots ------------------------------------------------------------------------------
    def attach(self, host: GrowthDomain) -> TorchSlot:
        """Place ``host``'s tumour in the lowest free slot."""
        if any(n > m for n, m in zip(host.shape, self.domain_shape, strict=True)):
            raise ValueError(f"domain {host.shape} exceeds the batch shape {self.domain_shape}")
        slot = self.slots.index(None)
        view = TorchSlot(self, slot, host)
        self.slots[slot] = view
        return view

    def release(self, view: TorchSlot) -> None:
        self.slots[view.slot] = None

    def free_slots(self) -> int:
        return self.slots.count(None)

    def _region(self, view: TorchSlot, halo: bool) -> tuple[int | slice, ...]:
        o = 1 if halo else 0
        return (view.slot, *(slice(o, o + n) for n in view.shape))

    def upload(self, view: TorchSlot, host: GrowthDomain) -> None:
        """Copy ``host``'s state into the slot (the rest of the slot becomes empty, D = 0)."""
        b = view.slot
        for tensor in (self.c, self.kx, self.ky, self.kz, self.dead, self.effect, self.necrosis):
            tensor[b].zero_()
        padded, plain = self._region(view, halo=True), self._region(view, halo=False)
        to = {"device": self.device}
        self.c[padded] = torch.from_numpy(np.ascontiguousarray(host.density)).to(**to)
        self.kx[padded] = torch.from_numpy(host.kx).to(**to)
        self.ky[padded] = torch.from_numpy(host.ky).to(**to)
        self.kz[padded] = torch.from_numpy(host.kz).to(**to)
        self.dead[plain] = torch.from_numpy(np.ascontiguousarray(host.dead)).to(**to)
        self.effect[plain] = torch.from_numpy(np.ascontiguousarray(host.effect)).to(**to)
        self.necrosis[plain] = torch.from_numpy(host.necrosis.astype(bool)).to(**to)
        self.necrosis_density[b] = float(np.float32(host.necrosis_density))

    def download(self, view: TorchSlot) -> GrowthDomain:
        """The slot's state as a numpy :class:`GrowthDomain` (for edits such as a resection)."""
        padded, plain = self._region(view, halo=True), self._region(view, halo=False)
        return GrowthDomain(
            origin=view.origin,  # type: ignore[arg-type]
            voxel_size_mm=view.voxel_size_mm,
            diffusivity=view._diffusivity,
            density=self.c[padded].cpu().numpy().copy(),
            dead=self.dead[plain].cpu().numpy().copy(),
            effect=self.effect[plain].cpu().numpy().copy(),
            necrosis=self.necrosis[plain].cpu().numpy().astype(np.uint8),
            cavity=view._cavity,
            rho_per_day=view.rho_per_day,
            necrosis_density=view.necrosis_density,
        )

    def readout(self, view: TorchSlot) -> tuple[np.ndarray, np.ndarray]:
        """Over the active box: visible density (living + dying + effect, capped at 1), necrosis."""
        padded, plain = view.box_slices(halo=True), view.box_slices(halo=False)
        visible = torch.clamp(self.c[padded] + self.dead[plain] + self.effect[plain], max=1.0)
        necrosis = self.necrosis[plain].to(torch.uint8)
        return visible.cpu().numpy(), necrosis.cpu().numpy()

    def add_treatment_effect(self, view: TorchSlot, density: float, at_least: float) -> None:
        padded, plain = view.box_slices(halo=True), view.box_slices(halo=False)
        visible = self.c[padded] + self.dead[plain]
        self.effect[plain] += np.float32(density) * (visible >= at_least)

    def burdens_ml(self, views: Sequence[TorchSlot]) -> np.ndarray:
        """Exact (fixed-point) sums of density over the given slots' active boxes, in mL."""
        index = torch.tensor([v.slot for v in views], device=self.device)
        inner = self.c[_INNER].index_select(0, index)
        inside = self._box_mask(views).index_select(0, index)
        fixed = torch.round(inner.double() * FIXED_POINT_SCALE).long() * inside
        totals = fixed.sum(dim=(1, 2, 3)).cpu().numpy()
        return np.array(
            [fixed_point_ml(int(t), v.voxel_size_mm) for t, v in zip(totals, views, strict=True)]
        )

    def _box_mask(self, views: Sequence[TorchSlot]) -> torch.Tensor:
        """[B, X, Y, Z] bool: inside the active box of each given slot (False elsewhere)."""
        lo = np.zeros((self.capacity, 3), np.int64)
        hi = np.zeros((self.capacity, 3), np.int64)
        for v in views:
            lo[v.slot], hi[v.slot] = v.box_lo, v.box_hi
        lo_t = torch.from_numpy(lo).to(self.device)
        hi_t = torch.from_numpy(hi).to(self.device)
        mask = None
        for d, axis in enumerate(self._axes):
            inside = (axis >= lo_t[:, d].view(-1, 1, 1, 1)) & (axis < hi_t[:, d].view(-1, 1, 1, 1))
            mask = inside if mask is None else mask & inside
        assert mask is not None
        return mask

    def _update_boxes(self, views: Sequence[TorchSlot]) -> None:
        """``GrowthDomain.update_box`` for the stale slots among ``views``, in one batched search.

        Outside a slot's box nothing is ever updated and every density is <= ACTIVE_DENSITY (the
        first box covers them all), so searching the slot's interior equals numba's search of
        the box.
        """
        stale = [v for v in views if v.box_stale]
        if not stale:
            return
        index = torch.tensor([v.slot for v in stale], device=self.device)
        interior = np.zeros((self.capacity, 3), np.int64), np.zeros((self.capacity, 3), np.int64)
        for v in stale:
            interior[0][v.slot] = 1
            interior[1][v.slot] = np.array(v.shape) - 1
        above = self.c[_INNER].index_select(0, index) > ACTIVE_DENSITY
        for d, axis in enumerate(self._axes):
            lo_t = torch.from_numpy(interior[0][:, d]).to(self.device).index_select(0, index)
            hi_t = torch.from_numpy(interior[1][:, d]).to(self.device).index_select(0, index)
            above &= (axis >= lo_t.view(-1, 1, 1, 1)) & (axis < hi_t.view(-1, 1, 1, 1))
        hits = [
            above.any(dim=others).cpu().numpy() for others in ((2, 3), (1, 3), (1, 2))
        ]  # [S, X], [S, Y], [S, Z]
        for s, v in enumerate(stale):
            inner_lo, inner_hi = interior[0][v.slot], interior[1][v.slot]
            if not hits[0][s].any():  # no tumour left: keep the box
                lo, hi = v.box_lo, v.box_lo + 1
            else:
                lo = np.array([int(np.argmax(h[s])) for h in hits])
                hi = np.array([len(h[s]) - int(np.argmax(h[s][::-1])) for h in hits])
            lo = np.maximum(lo - ACTIVE_MARGIN_VOXELS, inner_lo)
            hi = np.minimum(hi + ACTIVE_MARGIN_VOXELS, inner_hi)
            v.box_lo = np.minimum(v.box_lo, lo)
            v.box_hi = np.maximum(v.box_hi, hi)
            v.box_stale = False

    def prepare(self, views: Sequence[TorchSlot]) -> None:
        """Bring the given slots up to date: stale boxes first, then pending kills."""
        self._update_boxes(views)
        self.flush_kills(views)

    # -- batched operations -----------------------------------------------------------------
    def _column(self, values: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(values).to(self.device).view(-1, 1, 1, 1)

    def flush_kills(self, views: Sequence[TorchSlot]) -> None:
        """Apply pending kills in the box: killed = c * lost; c -= killed; dead += killed."""
        rounds = max((len(v.pending_lost) for v in views), default=0)
        if rounds == 0:
            return
        c = self.c[_INNER]
        inside = self._box_mask(views)
        for r in range(rounds):
            lost = np.zeros(self.capacity, np.float32)  # 0: an exact no-op for the others
            for v in views:
                if r < len(v.pending_lost):
                    lost[v.slot] = v.pending_lost[r]
            killed = c * torch.where(inside, self._column(lost), 0.0)
            c -= killed
            self.dead += killed
        for v in views:
            v.pending_lost.clear()

    def grow(self, requests: Sequence[GrowRequest]) -> np.ndarray:
        """Answer one grow request per slot at once; returns each request's burden in mL."""
        self.prepare([v for v in self.slots if v is not None])
        n = self.capacity
        substeps = np.zeros(n, np.int64)
        k_scale = np.zeros(n, np.float32)
        growth = np.ones(n, np.float32)
        dead_decay = np.ones(n, np.float32)
        effect_decay = np.ones(n, np.float32)
        views: list[TorchSlot] = []
        for request in requests:
            view = request.domain
            assert isinstance(view, TorchSlot) and view.batch is self
            b = view.slot
            substeps[b] = max(1, math.ceil(request.days / view.max_stable_days))
            dt = request.days / substeps[b]
            k_scale[b] = dt
            growth[b] = math.exp(view.rho_per_day * request.rho_factor * dt)
            if view.dead_present:
                dead_decay[b] = request.dead_decay_per_day**dt
            if view.effect_present:
                effect_decay[b] = request.effect_decay_per_day**dt
            views.append(view)
        steps = int(substeps.max(initial=0))
        k_col, growth_col = self._column(k_scale), self._column(growth)
        g1_col = growth_col - 1.0
        dead_col, effect_col = self._column(dead_decay), self._column(effect_decay)
        decay_dead, decay_effect = bool((dead_decay != 1).any()), bool((effect_decay != 1).any())
        substeps_col = self._column(substeps)
        inside = self._box_mask(views)
        for s in range(steps):
            active = inside & (substeps_col > s)
            self._step(k_col, growth_col, g1_col, active)
            if decay_dead:
                self.dead *= torch.where(active, dead_col, 1.0)
            if decay_effect:
                self.effect *= torch.where(active, effect_col, 1.0)
        STATS["voxel_updates"] += steps * self.capacity * int(np.prod(self.domain_shape))
        STATS["rounds"] += 1
        burdens = self.burdens_ml(views) if views else np.zeros(0)
        for view, burden in zip(views, burdens, strict=True):
            view.cached_burden_ml = float(burden)
        return burdens

    def _step(
        self,
        k_scale: torch.Tensor,
        growth: torch.Tensor,
        g1: torch.Tensor,
        active: torch.Tensor,
    ) -> None:
        """One explicit diffusion + exact logistic sub-step, in the numba kernel's operation order."""
        c, kx, ky, kz = self.c, self.kx, self.ky, self.kz
        c0 = c[_INNER]
        flux = kx[_INNER] * (c[:, 2:, _IN, _IN] - c0)
        flux = flux + kx[:, :-2, _IN, _IN] * (c[:, :-2, _IN, _IN] - c0)
        flux = flux + ky[_INNER] * (c[:, _IN, 2:, _IN] - c0)
        flux = flux + ky[:, _IN, :-2, _IN] * (c[:, _IN, :-2, _IN] - c0)
        flux = flux + kz[_INNER] * (c[:, _IN, _IN, 2:] - c0)
        flux = flux + kz[:, _IN, _IN, :-2] * (c[:, _IN, _IN, :-2] - c0)
        ch = c0 + k_scale * flux
        value = ch * growth / (1.0 + ch * g1)
        value = torch.where(active, value, c0)
        self.spare[_INNER] = value
        self.necrosis |= (value >= self.necrosis_density) & active
        self.c, self.spare = self.spare, self.c


def simulate_subjects_torch(
    spec: CohortSpec,
    indices: Sequence[int],
    regimen: Regimen,
    *,
    device: str,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[SubjectResult]:
    """Simulate ``indices`` of ``spec`` in lockstep batches; results in the order of ``indices``."""
    capacity = min(batch_size or DEFAULT_BATCH_SIZE[torch.device(device).type], len(indices))
    if capacity < 1:
        return []
    batch = TorchBatch(capacity, max_domain_shape(int(spec.imaging["resolution_mm"])), device)
    queue = list(enumerate(indices))[::-1]
    running: list[tuple[int, SubjectProcess, GrowRequest]] = []
    results: list[SubjectResult | None] = [None] * len(indices)
    done = 0

    def finish(position: int, result: SubjectResult, view: TorchSlot | None) -> None:
        nonlocal done
        if view is not None:
            batch.release(view)
        results[position] = result
        done += 1
        if progress is not None:
            progress(done, len(indices))

    def start_subjects() -> None:
        while queue and batch.free_slots() > 0:
            position, index = queue.pop()
            process = subject_process(spec, index, regimen, attach=batch.attach)
            try:
                running.append((position, process, next(process)))
            except StopIteration as stopped:  # pragma: no cover - every subject warms up first
                finish(position, stopped.value, None)

    start_subjects()
    while running:
        burdens = batch.grow([request for _, _, request in running])
        still: list[tuple[int, SubjectProcess, GrowRequest]] = []
        for (position, process, request), burden in zip(running, burdens, strict=True):
            try:
                still.append((position, process, process.send(float(burden))))
            except StopIteration as stopped:
                view = request.domain
                assert isinstance(view, TorchSlot)
                finish(position, stopped.value, view)
        running = still
        start_subjects()
    return [result for result in results if result is not None]
