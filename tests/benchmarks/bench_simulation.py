"""Simulation speed: subjects/s, voxel-updates/s, and the ratio to a naive full-grid stencil.

Run: ``python tests/benchmarks/bench_simulation.py [--subjects 1000] [--workers 2]``

Baseline (measured in the same run): one explicit Fisher-KPP step over the full 2 mm MNI grid
(99 x 117 x 95) with a ``torch.nn.functional.conv3d`` 7-point Laplacian and an elementwise
logistic update, daily steps. Two ratios are printed:

* kernel ratio: voxel-updates/s of the engine's growth step (``GrowthDomain.grow`` as the
  simulation calls it during treatment: stencil, logistic, necrosis, burden and both decays) on
  a 51^3 box, one thread, over the baseline's (two threads). Best of several trials for both;
* work ratio: the full-grid daily-step voxel updates a naive solver needs to simulate the same
  subjects for the same days, divided by the engine's wall time, over the baseline's rate. This
  counts what the cropped domain, the active box and multi-day steps save.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

GRID = (99, 117, 95)
FOLLOW_UP_MONTHS = 36


def naive_conv3d_rate(steps: int = 30) -> float:
    """Voxel-updates/s of a naive full-grid conv3d Fisher-KPP step (float32, CPU)."""
    kernel = torch.zeros((1, 1, 3, 3, 3), dtype=torch.float32)
    kernel[0, 0, 1, 1, 1] = -6.0
    for offset in ((0, 1, 1), (2, 1, 1), (1, 0, 1), (1, 2, 1), (1, 1, 0), (1, 1, 2)):
        kernel[(0, 0, *offset)] = 1.0
    c = torch.rand((1, 1, *GRID), dtype=torch.float32) * 0.1
    d_dt_h2 = torch.full_like(c, 0.1 / 4.0)
    growth = float(np.exp(0.02))
    with torch.no_grad():
        for _ in range(3):
            lap = torch.nn.functional.conv3d(c, kernel, padding=1)
        start = time.perf_counter()
        for _ in range(steps):
            lap = torch.nn.functional.conv3d(c, kernel, padding=1)
            c = c + d_dt_h2 * lap
            c = c * growth / (1 + c * (growth - 1))
        elapsed = time.perf_counter() - start
    return steps * float(np.prod(GRID)) / elapsed


def _chunk(args: tuple[dict, list[int], str]) -> tuple[int, int, int, float]:
    from simulation import parse_spec, simulate_subjects
    from simulation.growth import STATS
    from simulation.torch_backend import STATS as TORCH_STATS

    spec_dict, indices, backend = args
    before = STATS["voxel_updates"] + TORCH_STATS["voxel_updates"]
    start = time.perf_counter()
    chunk = simulate_subjects(parse_spec(spec_dict), indices, backend=backend)
    elapsed = time.perf_counter() - start
    simulated_days = int(chunk.subjects.os_day.sum())
    updates = STATS["voxel_updates"] + TORCH_STATS["voxel_updates"] - before
    return len(indices), updates, simulated_days, elapsed


def engine_run(subjects: int, workers: int, backend: str = "numba") -> dict[str, float]:
    from simulation import parse_spec
    from simulation.parallel import worker_pool

    spec = parse_spec(
        {
            "size": subjects,
            "seed": 2026,
            "indication": "gbm_newly_diagnosed",
            "regimen": "stupp_rt_tmz",
            "follow_up_months": FOLLOW_UP_MONTHS,
        }
    )
    _chunk((spec.to_dict(), [0], backend))  # compile / load templates outside the timing
    block_size = 10 if backend == "numba" else 16
    blocks = [list(range(i, min(i + block_size, subjects))) for i in range(0, subjects, block_size)]
    start = time.perf_counter()
    if workers == 1:
        results = [_chunk((spec.to_dict(), block, backend)) for block in blocks]
    else:
        with worker_pool(workers) as pool:
            results = list(pool.map(_chunk, [(spec.to_dict(), b, backend) for b in blocks]))
    wall = time.perf_counter() - start
    updates = sum(r[1] for r in results)
    days = sum(r[2] for r in results)
    kernel_seconds = sum(r[3] for r in results)
    return {
        "wall_s": wall,
        "subjects": subjects,
        "voxel_updates": updates,
        "simulated_days": days,
        "worker_seconds": kernel_seconds,
    }


def kernel_domain():
    """A typical 51^3 tumour box as the simulation holds it during treatment.

    Random densities, a uniform white-matter coefficient (one sub-step per day, as for a median
    patient), cells already killed and treatment-effect enhancement present, so the necrosis,
    burden and both decay passes all run, as they do between RT fractions.
    """
    from simulation.growth import GrowthDomain

    shape = (53, 53, 53)
    rng = np.random.default_rng(0)
    diffusivity = np.full(shape, 0.1, np.float32)  # mm^2/day, median D_white
    density = (rng.random(shape, dtype=np.float32) * 0.9).astype(np.float32)
    zeros = np.zeros_like(density)
    domain = GrowthDomain(
        origin=(0, 0, 0),
        voxel_size_mm=2.0,
        diffusivity=diffusivity,
        density=density,
        dead=zeros.copy(),
        effect=zeros.copy(),
        necrosis=np.zeros(shape, np.uint8),
        cavity=np.zeros(shape, bool),
        rho_per_day=0.018,
    )
    domain.kill(0.6)
    domain.add_treatment_effect(0.3, 0.16)
    return domain


def kernel_rate(repeats: int = 100, trials: int = 5) -> float:
    """Voxel-updates/s of ``GrowthDomain.grow`` (one thread), best of ``trials``.

    The call is the simulation's own: one day with the clearance and pseudoprogression decay
    factors < 1 (dead-cell half-life 120 days, effect half-life 60 days).
    """
    from simulation.growth import STATS

    domain = kernel_domain()
    dead_decay, effect_decay = 0.5 ** (1 / 120), 0.5 ** (1 / 60)
    domain.grow(1, 1.0, dead_decay, effect_decay)
    best = float("inf")
    for _ in range(trials):
        before = STATS["voxel_updates"]
        start = time.perf_counter()
        for _ in range(repeats):
            domain.grow(1, 1.0, dead_decay, effect_decay)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed / (STATS["voxel_updates"] - before))
    return 1.0 / best


def naive_rate_best(trials: int = 3) -> float:
    """The baseline's best of ``trials`` (the same treatment as the kernel's best of 5)."""
    return max(naive_conv3d_rate() for _ in range(trials))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--backend", choices=["numba", "torch"], default="numba")
    args = parser.parse_args()
    torch.set_num_threads(args.workers)
    baseline = naive_rate_best()
    kernel = kernel_rate()
    run = engine_run(args.subjects, args.workers, args.backend)
    subjects_per_s = run["subjects"] / run["wall_s"]
    engine_rate = run["voxel_updates"] / run["wall_s"]
    equivalent = run["simulated_days"] * float(np.prod(GRID)) / run["wall_s"]
    print(
        f"naive conv3d full-grid step   : {baseline / 1e6:10.1f} M voxel-updates/s "
        f"({args.workers} threads)"
    )
    print(
        f"engine grow step (one thread) : {kernel / 1e6:10.1f} M voxel-updates/s "
        f"-> kernel ratio {kernel / baseline:.1f}x"
    )
    print(
        f"engine ({args.backend}), {run['subjects']} subjects x {FOLLOW_UP_MONTHS} months, "
        f"{args.workers} workers: {run['wall_s']:.1f} s, {subjects_per_s:.2f} subjects/s"
    )
    print(f"  voxel-updates/s (done)      : {engine_rate / 1e6:10.1f} M")
    print(
        f"  full-grid daily equivalent  : {equivalent / 1e6:10.1f} M voxel-updates/s "
        f"-> work ratio {equivalent / baseline:.1f}x"
    )
    print(f"  projected 1,000 subjects    : {1000 / subjects_per_s:.0f} s (target <= 300 s)")
    print(f"  load average at the end     : {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
