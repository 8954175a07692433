"""Benchmark: BrainG3N ``tiny`` CPU inference on the full 2 mm MNI grid (99x117x95).

Run: ``python tests/benchmarks/bench_braing3n.py [--repeats N] [--steps 50 10] [--threads 2]``.

Prints, for each DDIM step count, the median wall time of one sequence and of a 4-sequence
visit with the shipped tiny checkpoint (``generator/checkpoints/braing3n-tiny``), and as the
baseline measured in the same run the physics engine's time for the same visit, with the
ratio braing3n / physics. CPU only; the GPU figures come from ``gpu_braing3n.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from generator.corpus import load_mni152_anatomy, synthetic_tumour  # noqa: E402
from generator.engine import RenderRequest, render_visit  # noqa: E402
from generator.engines.braing3n import BrainG3NEngine  # noqa: E402
from generator.engines.physics import PhysicsEngine  # noqa: E402


def _median_s(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, nargs="+", default=[50, 10])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    anatomy = load_mni152_anatomy(2)
    tumours = [synthetic_tumour(anatomy, np.random.default_rng(k)) for k in range(args.repeats + 1)]
    labels = tumours[0]
    physics = PhysicsEngine()
    render_visit(anatomy, labels, engine=physics, subject_seed=1)  # warm per-subject caches
    # A new tumour per visit, as in the render CLI (the engine caches per label map).
    physics_times = []
    for other in tumours[1:]:
        start = time.perf_counter()
        render_visit(anatomy, other, engine=physics, subject_seed=1)
        physics_times.append(time.perf_counter() - start)
    physics_s = statistics.median(physics_times)
    print(f"threads={args.threads} grid={anatomy.brain_mask.shape} repeats={args.repeats}")
    print(f"physics 4-sequence visit (baseline): {physics_s:.3f} s")
    for steps in args.steps:
        engine = BrainG3NEngine(num_inference_steps=steps)
        request = RenderRequest(anatomy, labels, "t1c", subject_seed=1)
        engine.render(request)  # warm-up
        one_s = _median_s(lambda e=engine, r=request: e.render(r), args.repeats)
        visit_s = _median_s(
            lambda e=engine: render_visit(anatomy, labels, engine=e, subject_seed=1), args.repeats
        )
        print(
            f"braing3n tiny DDIM-{steps}: one sequence {one_s:.3f} s, 4-sequence visit "
            f"{visit_s:.3f} s, ratio to physics {visit_s / physics_s:.1f}x"
        )


if __name__ == "__main__":
    main()
