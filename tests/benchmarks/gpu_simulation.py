"""GPU benchmark of the simulation engine's batched torch backend (UNMEASURED on this project's
CPU machines: run it on a CUDA machine and record the card with the figures).

Run: ``python tests/benchmarks/gpu_simulation.py [--subjects 10000] [--batch-size 1024]
[--workers 1]``

Simulates ``--subjects`` RT + TMZ subjects x 36 months at 2 mm with ``device="cuda"`` (batched
torch growth, every read-out and RANO assessment included, no files written) and prints the wall
time, subjects/s and the voxel-updates/s of the batched step. Issue 3, item 10: target <= 60 s
for 10,000 subjects. ``--workers N`` runs N processes, each with its own batches on the same GPU
(the per-visit read-outs run on the CPU, so a single process can leave the GPU idle).

Before the timed run it checks, on the first ``--check`` subjects, that CUDA gives the same
subjects.csv rows as the numba CPU backend, and prints how many differ.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

#: Issue 3, item 10: 10,000 subjects x 36 months on CUDA.
TARGET_S = 60.0
FOLLOW_UP_MONTHS = 36


def _spec(subjects: int):
    from simulation import parse_spec

    return parse_spec(
        {
            "size": subjects,
            "seed": 2026,
            "indication": "gbm_newly_diagnosed",
            "regimen": "stupp_rt_tmz",
            "follow_up_months": FOLLOW_UP_MONTHS,
        }
    )


def _block(args: tuple[int, list[int], int]) -> tuple[int, int, float]:
    from simulation import simulate_subjects
    from simulation.torch_backend import STATS

    subjects, indices, batch_size = args
    before = STATS["voxel_updates"]
    start = time.perf_counter()
    simulate_subjects(_spec(subjects), indices, device="cuda", batch_size=batch_size)
    return len(indices), STATS["voxel_updates"] - before, time.perf_counter() - start


def check_against_numba(subjects: int, count: int, batch_size: int) -> int:
    """Number of subjects whose row differs between numba (CPU) and torch (CUDA)."""
    from simulation import simulate_subjects

    spec = _spec(subjects)
    indices = list(range(count))
    cpu = simulate_subjects(spec, indices).subjects
    gpu = simulate_subjects(spec, indices, device="cuda", batch_size=batch_size).subjects
    differing = (cpu != gpu).any(axis=1)
    if differing.any():
        print(gpu[differing][["subject_id", "os_day", "pfs_day"]].to_string())
    return int(differing.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--check", type=int, default=32, help="subjects compared with numba")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("gpu_simulation: no CUDA device; this benchmark only runs on a GPU", file=sys.stderr)
        raise SystemExit(2)
    name = torch.cuda.get_device_name(0)
    print(f"device: {name}, torch {torch.__version__}, {os.cpu_count()} CPU cores")
    if args.check:
        differing = check_against_numba(args.subjects, args.check, args.batch_size)
        print(f"CUDA vs numba (CPU): {differing} of {args.check} subjects differ")

    _block((args.subjects, [0], 1))  # CUDA context, templates, numba compile outside the timing
    per_block = -(-args.subjects // max(args.workers, 1))
    blocks = [
        (args.subjects, list(range(i, min(i + per_block, args.subjects))), args.batch_size)
        for i in range(0, args.subjects, per_block)
    ]
    start = time.perf_counter()
    if args.workers == 1:
        results = [_block(block) for block in blocks]
    else:
        from simulation.parallel import worker_pool

        with worker_pool(args.workers) as pool:
            results = list(pool.map(_block, blocks))
    wall = time.perf_counter() - start
    done = sum(r[0] for r in results)
    updates = sum(r[1] for r in results)
    print(
        f"{done} subjects x {FOLLOW_UP_MONTHS} months at 2 mm on {name} "
        f"(batch {args.batch_size}, {args.workers} process(es)): {wall:.1f} s, "
        f"{done / wall:.1f} subjects/s (target <= {TARGET_S:.0f} s for 10,000)"
    )
    print(f"batched step: {updates / wall / 1e9:.2f} G voxel-updates/s (masked slots included)")


if __name__ == "__main__":
    main()
