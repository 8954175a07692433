"""Celery tasks of the `simulation` queue: one chunk of subjects, and the run's finalisation;
and the periodic sweep (beat, `default` queue) that re-dispatches chunks whose worker died.

Delivery is at-least-once (acks_late + reject_on_worker_lost) and every write is idempotent:
a chunk delivered twice replaces its rows, never duplicates them (`services.chunk_store`).
A worker killed mid-chunk leaves its message unacknowledged until the broker's visibility
timeout (hours: it must exceed the longest task); meanwhile its chunk's heartbeat ages, and
`requeue_stalled_chunks` re-dispatches the chunk once it is ``SCA_CHUNK_STALL_S`` old.
"""

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable

from celery import shared_task
from django.conf import settings

from .label_store import label_map_relpath, write_subject_label_maps
from .models import ChunkStatus, RunChunk, SimulationRun
from .services import (
    ChunkClaim,
    chunk_claim,
    chunk_heartbeat,
    chunk_record_error,
    chunk_store,
    chunks_requeue_stalled,
    run_complete,
    run_fail,
    run_mark_running,
    runs_refinalise_stalled,
)

logger = logging.getLogger(__name__)
SOFT_LIMIT_S, HARD_LIMIT_S = settings.SCA_QUEUE_TIME_LIMITS_S["simulation"]
RETRY_DELAY_S = 2


def compute_chunk(
    *, run: SimulationRun, chunk: RunChunk, heartbeat: Callable[[], None] | None = None
) -> dict:
    """Simulate the chunk's subjects and write their label maps; returns what to store.
    ``heartbeat`` is called after each subject."""
    import simulation

    spec = simulation.parse_spec(run.spec.data)
    started = time.perf_counter()
    result = simulation.simulate_subjects(
        spec,
        range(chunk.first_index, chunk.first_index + chunk.count),
        device=run.device,
        progress=(lambda done, total: heartbeat()) if heartbeat else None,
    )
    per_subject: dict[str, dict] = defaultdict(dict)
    for (subject_id, visit), crop in result.label_maps.items():
        per_subject[subject_id][int(visit)] = crop
    paths: dict[str, str] = {}
    for subject_id, visits in sorted(per_subject.items()):
        relpath = label_map_relpath(run_id=run.pk, subject_id=subject_id)
        write_subject_label_maps(relpath=relpath, visits=visits)
        paths[subject_id] = relpath
    return {
        "subjects": result.subjects,
        "assessments": result.assessments,
        "anatomy_params": dict(result.anatomy_params),
        "label_map_paths": paths,
        "compute_s": time.perf_counter() - started,
    }


def worker_id(hostname: str | None) -> str:
    """This worker process: its node name and pid (a node's pool processes differ)."""
    return f"{hostname or 'worker'}/{os.getpid()}"


@shared_task(
    name="runs.simulate_chunk",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.SCA_CHUNK_MAX_RETRIES,
    soft_time_limit=SOFT_LIMIT_S,
    time_limit=HARD_LIMIT_S,
)
def simulate_chunk(self, chunk_id: int) -> str:  # noqa: ANN001
    chunk = RunChunk.objects.select_related("run__spec").filter(pk=chunk_id).first()
    if chunk is None:
        return ChunkClaim.GONE
    if chunk.status == ChunkStatus.DONE:
        return ChunkClaim.ALREADY_DONE
    if not run_mark_running(run_id=chunk.run_id):
        return "run-over"
    worker = worker_id(self.request.hostname)
    claim = chunk_claim(chunk_id=chunk.pk, worker=worker, stall_s=settings.SCA_CHUNK_STALL_S)
    if claim != ChunkClaim.CLAIMED:
        return claim
    try:
        computed = compute_chunk(
            run=chunk.run,
            chunk=chunk,
            heartbeat=lambda: chunk_heartbeat(chunk_id=chunk.pk, worker=worker),
        )
        outcome = chunk_store(chunk_id=chunk.pk, **computed)
    except Exception as exc:  # noqa: BLE001 - any failure is retried, then fails the run
        reason = (
            f"chunk {chunk.index} (subjects {chunk.first_index}-"
            f"{chunk.first_index + chunk.count - 1}) failed: {type(exc).__name__}: {exc}"
        )
        logger.exception("run %s: %s", chunk.run_id, reason)
        chunk_record_error(chunk_id=chunk.pk, error=reason)
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=RETRY_DELAY_S) from exc
        RunChunk.objects.filter(pk=chunk.pk).update(status=ChunkStatus.FAILED)
        run_fail(run_id=chunk.run_id, reason=f"{reason} (after {self.max_retries + 1} attempts)")
        return "failed"
    return "stored" if outcome.stored else "discarded"


@shared_task(
    name="runs.finalise_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.SCA_CHUNK_MAX_RETRIES,
    soft_time_limit=SOFT_LIMIT_S,
    time_limit=HARD_LIMIT_S,
)
def finalise_run(self, run_id: int) -> str:  # noqa: ANN001
    """Compute the run's statistics and per-subject plot series once all chunks are stored,
    store them and mark the run succeeded."""
    from .statistics import compute_run_statistics_and_plots

    run = SimulationRun.objects.select_related("spec").get(pk=run_id)
    if run.is_terminal:
        return "run-over"
    started = time.perf_counter()
    try:
        statistics, subject_plots = compute_run_statistics_and_plots(run=run)
    except Exception as exc:  # noqa: BLE001
        logger.exception("run %s: statistics failed", run_id)
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=RETRY_DELAY_S) from exc
        run_fail(run_id=run_id, reason=f"statistics failed: {type(exc).__name__}: {exc}")
        return "failed"
    run_complete(
        run_id=run_id,
        statistics=statistics,
        subject_plots=subject_plots,
        compute_s=time.perf_counter() - started,
    )
    return "succeeded"


@shared_task(name="runs.requeue_stalled_chunks", ignore_result=True)
def requeue_stalled_chunks(stall_s: float | None = None) -> list[int]:
    """Celery beat, every ``SCA_CHUNK_SWEEP_S``: re-dispatch the chunks whose worker has been
    silent for ``stall_s`` (default ``SCA_CHUNK_STALL_S``), and the statistics of runs whose
    finalising worker died. Returns the chunk ids."""
    stall_s = settings.SCA_CHUNK_STALL_S if stall_s is None else stall_s
    runs_refinalise_stalled(stall_s=stall_s)
    return chunks_requeue_stalled(stall_s=stall_s, max_requeues=settings.SCA_CHUNK_MAX_REQUEUES)
