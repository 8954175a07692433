"""Benchmark: physics render time per 4-sequence visit vs nibabel writing the same volumes.

Run: ``python tests/benchmarks/bench_generator.py [--repeats N] [--resolutions 2 1]``.
Every figure is the fastest of ``--repeats`` runs (default 5).

For each resolution (MNI152 grid from nilearn; 2 mm = 99x117x95, 1 mm = 197x233x189):
- ``render cold``: a fresh engine renders a visit (includes the per-subject set-up: brain-voxel
  index, bias fields, noise texture, tumour-free volumes);
- ``render warm``: the same visit rendered by an engine that has already rendered another visit
  of the subject (the render CLI's steady state);
- ``nibabel write``: ``nibabel.save`` of the same 4 volumes as int16 .nii.gz (nibabel's
  defaults) — the baseline; ``ratio`` = render / nibabel write (target <= 1.0);
- ``generator write``: our deterministic writer (gzip level 6, mtime 0, atomic rename), for
  information.
``--clock cpu`` times CPU seconds of this process instead of wall time (use it on a busy
machine). Then, if ``generator.engines.braing3n`` imports, the BrainG3N ``tiny`` CPU inference time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from generator.corpus import load_mni152_anatomy, synthetic_tumour  # noqa: E402
from generator.engine import SEQUENCES, render_visit  # noqa: E402
from generator.engines.physics import PhysicsEngine  # noqa: E402
from generator.nifti import write_volume  # noqa: E402

#: "wall" (perf_counter) or "cpu" (process_time: CPU seconds of this process, robust to other
#: jobs competing for the cores; everything timed here is single-threaded numpy/zlib work).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def _time(function) -> float:
    start = _clock()
    function()
    return _clock() - start


def _best(function, repeats: int) -> float:
    """Fastest of ``repeats`` runs: the least disturbed by other jobs (as ``timeit`` does)."""
    return min(_time(function) for _ in range(repeats))


def bench_physics(resolution_mm: int, repeats: int) -> dict[str, float]:
    anatomy = load_mni152_anatomy(resolution_mm)
    labels = synthetic_tumour(anatomy, np.random.default_rng(0))
    other_visit = synthetic_tumour(anatomy, np.random.default_rng(1))
    volumes: dict[str, np.ndarray] = {}

    def render_cold() -> None:
        volumes.update(render_visit(anatomy, labels, engine=PhysicsEngine(), subject_seed=42))

    warm_engine = PhysicsEngine()
    render_visit(anatomy, other_visit, engine=warm_engine, subject_seed=42)  # earlier visit

    def render_warm() -> None:
        volumes.update(render_visit(anatomy, labels, engine=warm_engine, subject_seed=42))

    cold_s = _best(render_cold, repeats)
    warm_s = _best(render_warm, repeats)

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)

        def nibabel_write() -> None:
            for sequence in SEQUENCES:
                img = nib.Nifti1Image(volumes[sequence], anatomy.affine)
                img.set_data_dtype(np.int16)
                nib.save(img, directory / f"nib-{sequence}.nii.gz")

        def generator_write() -> None:
            for sequence in SEQUENCES:
                write_volume(
                    directory / f"gen-{sequence}.nii.gz",
                    volumes[sequence],
                    anatomy.affine,
                    description=f"bench {sequence}",
                    space="mni",
                )

        nib_s = _best(nibabel_write, repeats)
        gen_s = _best(generator_write, repeats)
    return {
        "tumour_ml": float((labels > 0).sum()) * resolution_mm**3 / 1000.0,
        "render_cold_s": cold_s,
        "render_warm_s": warm_s,
        "nibabel_write_s": nib_s,
        "generator_write_s": gen_s,
    }


def bench_braing3n() -> str:
    try:
        from generator.engines.braing3n import BrainG3NEngine
    except ImportError as error:
        return f"braing3n: not available ({error})"
    try:
        anatomy = load_mni152_anatomy(2)
        labels = synthetic_tumour(anatomy, np.random.default_rng(0))
        engine = BrainG3NEngine()
        render_visit(anatomy, labels, engine=engine, subject_seed=1, sequences=("t1n",))
        seconds = _time(lambda: render_visit(anatomy, labels, engine=engine, subject_seed=1))
    except Exception as error:  # report, never crash the physics figures
        return f"braing3n: inference failed ({type(error).__name__}: {error})"
    return f"braing3n tiny CPU inference, 4-sequence visit at 2 mm: {seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--resolutions", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--skip-braing3n", action="store_true")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    header = (
        f"{'grid':>6} {'tumour ml':>9} {'render cold':>12} {'render warm':>12} {'nib write':>10} "
        f"{'ratio warm':>10} {'ratio cold':>10} {'gen write':>10}"
    )
    print(
        "physics engine, 4-sequence visit (t1n, t1c, t2w, t2f); "
        f"{args.clock} times in seconds (load average {os.getloadavg()[0]:.1f})"
    )
    print(header)
    worst = 0.0
    for resolution_mm in args.resolutions:
        r = bench_physics(resolution_mm, args.repeats)
        ratio_warm = r["render_warm_s"] / r["nibabel_write_s"]
        ratio_cold = r["render_cold_s"] / r["nibabel_write_s"]
        worst = max(worst, ratio_warm)
        print(
            f"{f'{resolution_mm} mm':>6} {r['tumour_ml']:9.1f} {r['render_cold_s']:12.3f} {r['render_warm_s']:12.3f} "
            f"{r['nibabel_write_s']:10.3f} {ratio_warm:10.2f} {ratio_cold:10.2f} "
            f"{r['generator_write_s']:10.3f}"
        )
    print(f"target: render / nibabel write <= 1.0 (worst warm ratio {worst:.2f})")
    if not args.skip_braing3n:
        print(bench_braing3n())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
