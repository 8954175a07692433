"""Benchmark (issue 7, item 8): export a cohort with all visits and four sequences at 2 mm.

    python tests/benchmarks/bench_exports.py                 # 300 subjects, physics engine
    python tests/benchmarks/bench_exports.py --subjects 20   # quicker; per-visit figures scale

Prints wall time, MB written, MB/s, and the share of time spent rendering (inside the
render/label-map callbacks: the generator's physics engine on the MNI152 2 mm anatomy) versus
writing (NIfTI encoding + gzip, tables, zip). Baseline, measured in the same run: plain
sequential write + fsync of the same number of bytes to the same disk (the I/O ceiling).
The run data are the deterministic synthetic cohort of the export tests (visits every 8 weeks
up to progression/death within 18 months), not a simulated one: rendering and writing cost
depend on the number of visits and the grid, not on how the outcomes were drawn.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "platform"), str(REPO), str(REPO / "tests" / "platform" / "exports")]

from exports_testdata import make_run_data  # noqa: E402

from exports import ExportOptions, RunExportData, build_export  # noqa: E402
from exports import build as build_module  # noqa: E402

MB = 1e6


def physics_callbacks(data: RunExportData) -> RunExportData:
    """Render with the generator's physics engine on nilearn's MNI152 2 mm tissue maps."""
    from nilearn.datasets import (
        load_mni152_brain_mask,
        load_mni152_gm_template,
        load_mni152_wm_template,
    )

    from generator.engine import get_engine, render_visit

    gm_img = load_mni152_gm_template(resolution=2)
    gm = np.asarray(gm_img.get_fdata(), dtype=np.float32)
    wm = np.asarray(load_mni152_wm_template(resolution=2).get_fdata(), dtype=np.float32)
    mask = np.asarray(load_mni152_brain_mask(resolution=2).get_fdata()) > 0.5
    csf = np.clip(mask.astype(np.float32) - gm - wm, 0.0, 1.0)

    @dataclasses.dataclass(frozen=True)
    class TemplateAnatomy:
        gm: np.ndarray
        wm: np.ndarray
        csf: np.ndarray
        brain_mask: np.ndarray
        affine: np.ndarray
        voxel_size_mm: float

    anatomy = TemplateAnatomy(gm, wm, csf, mask, np.asarray(gm_img.affine, dtype=float), 2.0)
    engine = get_engine("physics")
    index = dict(zip(data.subjects.subject_id, data.subjects.subject_index, strict=True))
    label_map = data.label_map

    def render(subject_id, visit, sequences, resolution_mm):
        labels, affine = label_map(subject_id, visit)
        labels = np.where(mask, labels, 0).astype(np.uint8)
        volumes = render_visit(
            anatomy, labels, engine=engine, subject_seed=int(index[subject_id]), sequences=sequences
        )
        return {sequence: (volume, affine) for sequence, volume in volumes.items()}

    return dataclasses.replace(data, render_visit=render)


def disk_baseline(folder: Path, size_bytes: int) -> float:
    """MB/s of a plain sequential write + fsync of ``size_bytes`` (capped at 256 MB)."""
    size_bytes = max(min(size_bytes, 256_000_000), 8_000_000)
    chunk = np.random.default_rng(0).integers(0, 255, 1 << 20, dtype=np.uint8).tobytes()
    path = folder / "baseline.bin"
    start = time.perf_counter()
    with path.open("wb") as handle:
        for _ in range(size_bytes // len(chunk)):
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    seconds = time.perf_counter() - start
    path.unlink()
    return size_bytes / MB / seconds


def run_export(data: RunExportData, folder: Path, name: str, threads: int) -> dict:
    """One export with ``threads`` NIfTI writer threads; returns its figures."""
    build_module.WRITER_THREADS = threads
    last = [time.perf_counter()]

    def progress(done: int, total: int) -> None:
        if total and (done == total or time.perf_counter() - last[0] > 60):
            last[0] = time.perf_counter()
            print(f"  [{name}] progress {done}/{total}", flush=True)

    result = build_export(
        run_data=data,
        options=ExportOptions(resolution_mm=2.0, layout="bids"),
        out_path=folder / f"{name}.zip",
        progress=progress,
    )
    figures = dict(result.timings_s)
    figures["archive_mb"] = result.size_bytes / MB
    figures["staged_mb"] = sum(entry["bytes"] for entry in result.manifest["files"]) / MB
    figures["files"] = result.file_count
    figures["sha256"] = result.sha256
    (folder / f"{name}.zip").unlink()
    return figures


def report(name: str, f: dict, visits: int) -> None:
    wall = f["total_s"]
    work = f["render_s"] + f["write_s"] + f["tabular_s"] + f["archive_s"]
    written = f["archive_mb"] + f["staged_mb"]
    print(f"-- {name}")
    print(f"wall time            {wall:10.1f} s  ({wall / visits * 1000:.0f} ms per visit)")
    print(f"archive              {f['archive_mb']:10.1f} MB  ({f['files']} files)")
    print(f"MB written           {written:10.1f} MB  (staged files + archive)")
    print(
        f"throughput           {f['archive_mb'] / wall:10.2f} MB/s of archive, "
        f"{written / wall:.2f} MB/s written"
    )
    print(f"work (all threads)   {work:10.1f} s; shares of it:")
    for key, label in (
        ("render_s", "render (callbacks)"),
        ("write_s", "write NIfTI+JSON"),
        ("tabular_s", "SDTM/ADaM/define"),
        ("archive_s", "zip"),
    ):
        print(f"  {label:20s} {f[key] / work:8.1%}  ({f[key]:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=300)
    parser.add_argument("--engine", choices=("physics", "template"), default="physics")
    parser.add_argument("--out", type=Path, default=None, help="folder for the archive")
    parser.add_argument(
        "--no-serial-baseline",
        action="store_true",
        help="skip the single-writer-thread baseline run",
    )
    args = parser.parse_args()

    data = make_run_data(args.subjects, full_template=True)
    if args.engine == "physics":
        data = physics_callbacks(data)
    visits = len(data.assessments)
    threads = build_module.WRITER_THREADS
    print(
        f"subjects {args.subjects}, visits {visits}, 4 sequences + segmentation, "
        f"2 mm grid 99x117x95, engine {args.engine}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        folder = Path(tmp)
        serial = None
        if not args.no_serial_baseline:
            serial = run_export(data, folder, "serial", 1)
        threaded = run_export(data, folder, "threaded", threads)
        disk_mb_s = disk_baseline(folder, int(threaded["archive_mb"] * MB))
    if serial is not None:
        report("baseline: 1 writer thread", serial, visits)
    report(f"export: {threads} writer threads", threaded, visits)
    print(f"disk baseline        {disk_mb_s:10.1f} MB/s plain write+fsync (same disk)")
    print(f"ratio export/disk    {threaded['archive_mb'] / threaded['total_s'] / disk_mb_s:10.3f}")
    if serial is not None:
        print(
            f"speed-up vs 1 thread {serial['total_s'] / threaded['total_s']:10.2f}x "
            f"(archives identical: {serial['sha256'] == threaded['sha256']})"
        )
    if args.subjects != 300:
        scale = 300 / args.subjects
        print(
            f"extrapolated to 300 subjects: ~{threaded['total_s'] * scale / 60:.1f} min, "
            f"~{threaded['archive_mb'] * scale / 1000:.2f} GB archive (linear in visits)"
        )


if __name__ == "__main__":
    main()
