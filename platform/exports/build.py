"""``build_export``: one run + options -> one deterministic zip archive + its manifest.

Archive layout::

    manifest.json          provenance: spec, seed, versions, options, SHA-256 of every file
    sdtm/<ds>.xpt, sdtm/<ds>.csv, sdtm/define.xml      SDTM (XPT v5 + CSV + Define-XML 2.0)
    adam/<ds>.xpt, adam/<ds>.csv, adam/define.xml      ADaM
    bids/...  or  brats/...                            imaging (see bids.py / brats.py)

Everything is staged in a temporary folder next to ``out_path`` and zipped to a temporary file
that is renamed into place only when complete; the staging folder is always removed. Any error
(bad input, a failing render callback, a full disk) leaves nothing at ``out_path``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .adam import build_adam
from .archive import write_archive
from .bids import write_bids_metadata, write_bids_visit
from .brats import write_brats_metadata, write_brats_visit
from .define_xml import define_xml_bytes
from .errors import ExportError
from .inputs import ExportOptions, RunExportData, validate_run_data
from .manifest import MANIFEST_NAME, build_manifest, manifest_bytes, sha256_file
from .sdtm import build_sdtm
from .tables import Dataset, csv_bytes
from .timeline import SubjectTimeline, build_timelines
from .xpt import xpt_bytes

__all__ = ["ExportResult", "build_export"]

ProgressFn = Callable[[int, int], None]

#: Threads encoding NIfTI files while the next visit renders: zlib releases the GIL, so gzip
#: of several volumes runs in parallel. Files are independent, so the bytes do not depend on
#: the thread count or the order in which writes finish.
WRITER_THREADS = max(1, min(4, os.cpu_count() or 1))
#: Visits rendered ahead of the writers at most (bounds memory: ~18 MB per 2 mm visit).
MAX_PENDING_VISITS_PER_THREAD = 2


@dataclass(frozen=True)
class ExportResult:
    """The archive written: path, size, SHA-256, manifest, and where the time went."""

    path: Path
    sha256: str
    size_bytes: int
    manifest: dict[str, Any]
    timings_s: dict[str, float]

    @property
    def file_count(self) -> int:
        return len(self.manifest["files"])


class _Clock:
    """Accumulates seconds per phase, summed over threads (render = inside the callbacks)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {
            "tabular": 0.0,
            "render": 0.0,
            "write": 0.0,
            "archive": 0.0,
        }
        self._lock = threading.Lock()

    def timed(self, phase: str, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            with self._lock:
                self.seconds[phase] += time.perf_counter() - start


def build_export(
    *,
    run_data: RunExportData,
    options: ExportOptions,
    out_path: Path,
    progress: ProgressFn | None = None,
) -> ExportResult:
    """Write the export archive of ``run_data`` to ``out_path`` (atomically); return its manifest.

    Raises ``ExportError`` (a ``ValueError``) naming the option, table, column or callback for
    bad input, before anything is written. ``progress(done, total)`` is called after each unit
    of work (the tabular datasets, each rendered visit, the archive).
    """
    started = time.perf_counter()
    if not isinstance(options, ExportOptions):
        raise ExportError(f"options: expected ExportOptions, got {type(options).__name__}")
    if not isinstance(run_data, RunExportData):
        raise ExportError(f"run_data: expected RunExportData, got {type(run_data).__name__}")
    out_path = Path(out_path)
    if not out_path.parent.is_dir():
        raise ExportError(f"out_path: folder {out_path.parent} does not exist")
    if out_path.is_dir():
        raise ExportError(f"out_path: {out_path} is a folder")
    if not (options.datasets or options.wants_images):
        raise ExportError("datasets, imaging: the options select nothing to export")
    validate_run_data(run_data, options)

    study_id = run_data.study_id(options.study_id)
    timelines = build_timelines(run_data, study_id)
    jobs = _imaging_jobs(timelines, options) if options.wants_images else []
    total = (1 if options.datasets else 0) + len(jobs) + 1
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    clock = _Clock()
    staging = Path(
        tempfile.mkdtemp(prefix=f".{out_path.name}.", suffix=".staging", dir=out_path.parent)
    )
    try:
        notes: list[str] = []
        counts: dict[str, Any] = {
            "subjects": len(timelines),
            "datasets": {},
            "images": 0,
            "segmentations": 0,
            "visits": len(jobs),
        }
        if options.datasets:
            clock.timed(
                "tabular",
                _write_tabular,
                staging,
                run_data,
                options,
                timelines,
                study_id,
                counts,
                notes,
            )
            tick()
        if jobs:
            _write_imaging(
                staging, run_data, options, timelines, study_id, jobs, clock, counts, tick
            )
        files = sorted(path for path in staging.rglob("*") if path.is_file())
        entries: list[tuple[str, Path | bytes]] = []
        listed = []
        for path in files:
            name = path.relative_to(staging).as_posix()
            entries.append((name, path))
            listed.append({"path": name, "sha256": sha256_file(path), "bytes": path.stat().st_size})
        manifest = build_manifest(
            study_id=study_id,
            spec=run_data.spec,
            seed=int(run_data.seed),
            versions=run_data.versions,
            options=options.to_dict(),
            files=listed,
            counts=counts,
            notes=notes,
        )
        entries.append((MANIFEST_NAME, manifest_bytes(manifest)))
        clock.timed("archive", write_archive, entries, out_path)
        tick()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    timings = {f"{phase}_s": round(seconds, 4) for phase, seconds in clock.seconds.items()}
    timings["total_s"] = round(time.perf_counter() - started, 4)
    return ExportResult(
        path=out_path,
        sha256=sha256_file(out_path),
        size_bytes=out_path.stat().st_size,
        manifest=manifest,
        timings_s=timings,
    )


# ---------------------------------------------------------------------- tabular


def _write_tabular(
    staging: Path,
    data: RunExportData,
    options: ExportOptions,
    timelines: list[SubjectTimeline],
    study_id: str,
    counts: dict[str, Any],
    notes: list[str],
) -> None:
    sdtm = build_sdtm(data, timelines, study_id)
    adam = build_adam(timelines, sdtm, study_id, data.spec) if options.adam else {}
    description = f"Synthetic glioblastoma control arm {study_id} (seed {int(data.seed)})"
    for folder, names, source in (
        ("sdtm", options.sdtm, sdtm.datasets),
        ("adam", options.adam, adam),
    ):
        if not names:
            continue
        target = staging / folder
        target.mkdir(parents=True, exist_ok=True)
        chosen: list[Dataset] = [source[name] for name in names]
        for dataset in chosen:
            stem = dataset.name.lower()
            if options.xpt:
                (target / f"{stem}.xpt").write_bytes(xpt_bytes(dataset))
            if options.csv:
                (target / f"{stem}.csv").write_bytes(csv_bytes(dataset))
            counts["datasets"][dataset.name] = len(dataset.frame)
            notes.extend(f"{dataset.name}: {note}" for note in dataset.notes)
        (target / "define.xml").write_bytes(
            define_xml_bytes(
                chosen,
                study_id=study_id,
                study_description=description,
                file_suffix="xpt" if options.xpt else "csv",
            )
        )


# ---------------------------------------------------------------------- imaging


def _imaging_jobs(
    timelines: list[SubjectTimeline], options: ExportOptions
) -> list[tuple[SubjectTimeline, int, int]]:
    """(subject, visit, day) to render, in export order."""
    wanted = None if options.visits is None else set(options.visits)
    jobs = []
    for t in timelines:
        for visit, day in zip(t.assessments["visit"], t.assessments["day"], strict=True):
            if wanted is None or int(visit) in wanted:
                jobs.append((t, int(visit), int(day)))
    return jobs


def _write_imaging(
    staging: Path,
    data: RunExportData,
    options: ExportOptions,
    timelines: list[SubjectTimeline],
    study_id: str,
    jobs: list[tuple[SubjectTimeline, int, int]],
    clock: _Clock,
    counts: dict[str, Any],
    tick: Callable[[], None],
) -> None:
    visits: dict[str, list[tuple[int, int]]] = {}
    for t, visit, day in jobs:
        visits.setdefault(t.subject_id, []).append((visit, day))
    if options.layout == "bids":
        root, write_metadata, write_visit = staging / "bids", write_bids_metadata, write_bids_visit
    else:
        root, write_metadata, write_visit = (
            staging / "brats",
            write_brats_metadata,
            write_brats_visit,
        )
    clock.timed("write", write_metadata, root, data, options, timelines, visits, study_id)
    pending: deque[Future[Any]] = deque()

    def finish_oldest() -> None:
        pending.popleft().result()  # re-raises a writer's exception here
        tick()

    with ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="export-write") as pool:
        for t, visit, day in jobs:
            volumes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            labels = None
            if options.sequences:
                assert data.render_visit is not None  # checked by validate_run_data
                volumes = clock.timed(
                    "render",
                    data.render_visit,
                    t.subject_id,
                    visit,
                    options.sequences,
                    options.resolution_mm,
                )
                _check_rendered(volumes, options, t.subject_id, visit)
            if options.segmentations:
                assert data.label_map is not None
                labels = clock.timed("render", data.label_map, t.subject_id, visit)
                _check_pair(labels, "label_map", t.subject_id, visit)
            pending.append(
                pool.submit(
                    clock.timed,
                    "write",
                    write_visit,
                    root,
                    data,
                    t,
                    visit,
                    day,
                    volumes,
                    labels,
                    options,
                )
            )
            counts["images"] += len(options.sequences)
            counts["segmentations"] += 1 if labels is not None else 0
            while pending and (
                pending[0].done() or len(pending) > WRITER_THREADS * MAX_PENDING_VISITS_PER_THREAD
            ):
                finish_oldest()
        while pending:
            finish_oldest()


def _check_pair(value: object, source: str, subject_id: str, visit: int) -> None:
    if not (isinstance(value, tuple) and len(value) == 2):
        raise ExportError(f"{source}: expected (array, affine) for {subject_id} visit {visit}")
    array, affine = value
    if np.asarray(array).ndim != 3 or np.asarray(affine).shape != (4, 4):
        raise ExportError(
            f"{source}: {subject_id} visit {visit} gave shape {np.shape(array)} and affine "
            f"{np.shape(affine)}; need a 3-D volume and a 4x4 affine"
        )


def _check_rendered(volumes: object, options: ExportOptions, subject_id: str, visit: int) -> None:
    if not isinstance(volumes, dict):
        raise ExportError(f"render_visit: expected a dict for {subject_id} visit {visit}")
    for sequence in options.sequences:
        if sequence not in volumes:
            raise ExportError(
                f"render_visit: no {sequence!r} volume for {subject_id} visit {visit}"
            )
        _check_pair(volumes[sequence], f"render_visit[{sequence}]", subject_id, visit)
