"""Celery tasks of the `simulation` queue: one chunk of subjects, and the run's finalisation.

Delivery is at-least-once (acks_late + reject_on_worker_lost): a chunk whose worker died is
delivered again and its write replaces the earlier one (see `services.chunk_store`).
"""

import logging
import time
from collections import defaultdict

from celery import shared_task
from django.conf import settings

from .label_store import label_map_relpath, write_subject_label_maps
from .models import ChunkStatus, RunChunk, SimulationRun
from .services import (
    chunk_mark_started,
    chunk_record_error,
    chunk_store,
    run_complete,
    run_fail,
    run_mark_running,
)

logger = logging.getLogger(__name__)
SOFT_LIMIT_S, HARD_LIMIT_S = settings.SCA_QUEUE_TIME_LIMITS_S["simulation"]
RETRY_DELAY_S = 2


def compute_chunk(*, run: SimulationRun, chunk: RunChunk) -> dict:
    """Simulate the chunk's subjects and write their label maps; returns what to store."""
    import simulation

    spec = simulation.parse_spec(run.spec.data)
    started = time.perf_counter()
    result = simulation.simulate_subjects(
        spec, range(chunk.first_index, chunk.first_index + chunk.count), device=run.device
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
    chunk = RunChunk.objects.select_related("run__spec").get(pk=chunk_id)
    if chunk.status == ChunkStatus.DONE:
        return "already-done"
    if not run_mark_running(run_id=chunk.run_id):
        return "run-over"
    chunk_mark_started(chunk_id=chunk.pk, worker=self.request.hostname or "")
    try:
        outcome = chunk_store(chunk_id=chunk.pk, **compute_chunk(run=chunk.run, chunk=chunk))
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
    """Compute the run's statistics once all chunks are stored, and mark it succeeded."""
    from .statistics import compute_run_statistics

    run = SimulationRun.objects.select_related("spec").get(pk=run_id)
    if run.is_terminal:
        return "run-over"
    started = time.perf_counter()
    try:
        statistics = compute_run_statistics(run=run)
    except Exception as exc:  # noqa: BLE001
        logger.exception("run %s: statistics failed", run_id)
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=RETRY_DELAY_S) from exc
        run_fail(run_id=run_id, reason=f"statistics failed: {type(exc).__name__}: {exc}")
        return "failed"
    run_complete(run_id=run_id, statistics=statistics, compute_s=time.perf_counter() - started)
    return "succeeded"
