"""State changes of simulation runs: launch, chunk results, completion, failure, cancellation.

Each change is one `transaction.atomic` that writes its own audit event; tasks are queued only
after the launching transaction commits.
"""

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from audit.models import Action
from audit.services import ClientInfo, audit_record
from simulation.cohort import CONTRACT_ASSESSMENT_COLUMNS as ASSESSMENT_COLUMNS
from simulation.cohort import CONTRACT_SUBJECT_COLUMNS as SUBJECT_COLUMNS
from trials.models import CohortSpec

from .models import (
    Assessment,
    ChunkStatus,
    RunChunk,
    RunStatistics,
    RunStatus,
    SimulationRun,
    Subject,
)

BULK_BATCH_SIZE = 2000
logger = logging.getLogger(__name__)


# --- Launch and cancel --------------------------------------------------------------------------


def _software_versions() -> dict[str, str]:
    import simulation

    versions = {
        "software_version": str(getattr(simulation, "SOFTWARE_VERSION", "")),
        "calibration_version": str(getattr(simulation, "CALIBRATION_VERSION", "")),
        "checkpoint_version": "",
    }
    try:
        import generator

        versions["checkpoint_version"] = str(getattr(generator, "CHECKPOINT_VERSION", ""))
    except ImportError:  # the generator is optional for running cohorts
        pass
    return versions


def run_launch(
    *,
    spec: CohortSpec,
    actor: AbstractBaseUser | None,
    name: str = "",
    chunk_size: int | None = None,
    device: str | None = None,
    client: ClientInfo | None = None,
    dispatch: bool = True,
) -> SimulationRun:
    """Freeze the spec version, create the run and its chunks, queue them after commit.

    ``dispatch=False`` queues nothing (the caller executes the chunks, e.g. inline or a
    benchmark storing its own rows).
    """
    from .tasks import simulate_chunk

    size = int(spec.data["size"])
    if size > settings.SCA_RUN_MAX_SUBJECTS:
        raise ValidationError(
            {
                "size": [
                    f"{size} subjects is above this installation's limit of {settings.SCA_RUN_MAX_SUBJECTS}."
                ]
            }
        )
    chunk_size = chunk_size or settings.SCA_RUN_CHUNK_SIZE
    chunks_total = math.ceil(size / chunk_size)
    trial = spec.trial
    with transaction.atomic():
        spec_locked = CohortSpec.objects.select_for_update().get(pk=spec.pk)
        if spec_locked.frozen_at is None:
            spec_locked.frozen_at = timezone.now()
            spec_locked.save(update_fields=["frozen_at"])
        run = SimulationRun(
            organisation=trial.organisation,
            trial=trial,
            spec=spec_locked,
            name=name,
            size=size,
            seed=int(spec.data["seed"]),
            chunk_size=chunk_size,
            chunks_total=chunks_total,
            device=device or settings.SCA_DEVICE,
            created_by=actor if actor and actor.is_authenticated else None,
            **_software_versions(),
        )
        run.full_clean()
        run.save()
        chunks = RunChunk.objects.bulk_create(
            [
                RunChunk(
                    run=run,
                    index=i,
                    first_index=i * chunk_size,
                    count=min(chunk_size, size - i * chunk_size),
                )
                for i in range(chunks_total)
            ]
        )
        audit_record(
            organisation=trial.organisation,
            actor=actor,
            action=Action.LAUNCH,
            target=run,
            after=run.audit_state(),
            client=client,
        )
        if dispatch:
            for chunk in chunks:
                simulate_chunk.delay_on_commit(chunk.pk)
    return run


def run_cancel(
    *,
    run: SimulationRun,
    actor: AbstractBaseUser | None,
    reason: str = "",
    client: ClientInfo | None = None,
) -> SimulationRun:
    with transaction.atomic():
        run = SimulationRun.objects.select_for_update().select_related("spec").get(pk=run.pk)
        if run.is_terminal:
            raise ValidationError({"status": [f"The run is already {run.status}."]})
        before = run.audit_state()
        run.status = RunStatus.CANCELLED
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at"])
        audit_record(
            organisation=run.organisation,
            actor=actor,
            action=Action.CANCEL,
            target=run,
            before=before,
            after=run.audit_state(),
            reason=reason,
            client=client,
        )
    return run


# --- Worker-side changes -------------------------------------------------------------------------


def run_mark_running(*, run_id: int) -> bool:
    """queued -> running on the first chunk; False when the run is already over (skip work)."""
    with transaction.atomic():
        run = SimulationRun.objects.select_for_update().get(pk=run_id)
        if run.is_terminal:
            return False
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.RUNNING
            run.started_at = timezone.now()
            run.save(update_fields=["status", "started_at"])
    return True


def run_fail(*, run_id: int, reason: str) -> None:
    with transaction.atomic():
        run = SimulationRun.objects.select_for_update().select_related("spec").get(pk=run_id)
        if run.is_terminal:
            return
        before = run.audit_state()
        run.status = RunStatus.FAILED
        run.error = reason[:4000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        audit_record(
            organisation=run.organisation,
            actor=None,
            action=Action.FAIL,
            target=run,
            before=before,
            after=run.audit_state(),
            reason=reason[:4000],
        )


def chunk_mark_started(*, chunk_id: int, worker: str) -> None:
    now = timezone.now()
    RunChunk.objects.filter(pk=chunk_id).update(
        worker=worker[:200], started_at=now, heartbeat_at=now
    )


class ChunkClaim:
    """What `chunk_claim` found (the task returns it as its result)."""

    CLAIMED = "claimed"
    GONE = "gone"
    ALREADY_DONE = "already-done"
    RUNNING_ELSEWHERE = "running-elsewhere"


def chunk_claim(*, chunk_id: int, worker: str, stall_s: float) -> str:
    """Take a chunk for ``worker`` unless it is done or another worker is alive on it.

    "Alive" means a heartbeat younger than ``stall_s`` from another worker: a duplicate
    delivery (the broker's, or a requeue racing a worker that was only slow) then does nothing,
    and should that worker die after all, the stalled-chunk sweep re-dispatches the chunk.
    """
    now = timezone.now()
    with transaction.atomic():
        chunk = RunChunk.objects.select_for_update().filter(pk=chunk_id).first()
        if chunk is None:
            return ChunkClaim.GONE
        if chunk.status == ChunkStatus.DONE:
            return ChunkClaim.ALREADY_DONE
        alive = (
            chunk.heartbeat_at is not None and (now - chunk.heartbeat_at).total_seconds() < stall_s
        )
        if alive and chunk.worker != worker:
            return ChunkClaim.RUNNING_ELSEWHERE
        chunk.worker, chunk.started_at, chunk.heartbeat_at = worker[:200], now, now
        chunk.save(update_fields=["worker", "started_at", "heartbeat_at"])
    return ChunkClaim.CLAIMED


def chunk_heartbeat(*, chunk_id: int, worker: str) -> None:
    """The worker computing a pending chunk is alive (called after each subject)."""
    RunChunk.objects.filter(pk=chunk_id, status=ChunkStatus.PENDING).update(
        heartbeat_at=timezone.now(), worker=worker[:200]
    )


def chunk_record_error(*, chunk_id: int, error: str) -> None:
    """Keep the reason; clear the heartbeat so that the retry (maybe on another worker
    process) may claim the chunk at once."""
    RunChunk.objects.filter(pk=chunk_id).update(error=error[:4000], heartbeat_at=None)


def chunks_requeue_stalled(*, stall_s: float, max_requeues: int) -> list[int]:
    """Re-dispatch the pending chunks of running runs whose worker has been silent for
    ``stall_s`` (it died: SIGKILL, machine lost). Returns their ids.

    Each requeue clears the chunk's worker and heartbeat (so the next sweep leaves the queued
    copy alone), counts it in ``requeues``, logs it and writes an audit event, in one
    transaction; the task goes out after commit. A chunk that stalled ``max_requeues`` times
    fails its run instead, with the reason. Chunks locked by another sweep are skipped.
    """
    from .tasks import simulate_chunk

    now = timezone.now()
    cutoff = now - timedelta(seconds=stall_s)
    candidates = list(
        RunChunk.objects.filter(
            status=ChunkStatus.PENDING,
            heartbeat_at__lt=cutoff,
            run__status=RunStatus.RUNNING,
        ).values_list("pk", flat=True)
    )
    requeued: list[int] = []
    failures: list[tuple[int, str]] = []
    for chunk_id in candidates:
        with transaction.atomic():
            chunk = (
                RunChunk.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("run__organisation")
                .filter(
                    pk=chunk_id,
                    status=ChunkStatus.PENDING,
                    heartbeat_at__lt=cutoff,
                    run__status=RunStatus.RUNNING,
                )
                .first()
            )
            if chunk is None:
                continue
            silent_s = (now - chunk.heartbeat_at).total_seconds()
            what = (
                f"chunk {chunk.index} (subjects {chunk.first_index}-"
                f"{chunk.first_index + chunk.count - 1}) of run {chunk.run_id}"
            )
            if chunk.requeues >= max_requeues:
                RunChunk.objects.filter(pk=chunk.pk).update(status=ChunkStatus.FAILED)
                failures.append(
                    (
                        chunk.run_id,
                        f"{what} stalled {chunk.requeues + 1} times (its worker went silent "
                        f"for {stall_s:g} s; last: {chunk.worker})",
                    )
                )
                continue
            before = {
                "worker": chunk.worker,
                "heartbeat_at": chunk.heartbeat_at.isoformat(),
                "requeues": chunk.requeues,
            }
            chunk.worker, chunk.started_at, chunk.heartbeat_at = "", None, None
            chunk.requeues += 1
            chunk.save(update_fields=["worker", "started_at", "heartbeat_at", "requeues"])
            reason = (
                f"{what}: no heartbeat from worker {before['worker']} for {silent_s:.0f} s "
                f"(limit {stall_s:g} s); re-dispatched"
            )
            audit_record(
                organisation=chunk.run.organisation,
                actor=None,
                action=Action.UPDATE,
                target=chunk,
                before=before,
                after={"worker": "", "heartbeat_at": None, "requeues": chunk.requeues},
                reason=reason,
            )
            logger.warning("%s", reason)
            simulate_chunk.delay_on_commit(chunk.pk)
            requeued.append(chunk.pk)
    for run_id, reason in failures:
        logger.error("run %s: %s", run_id, reason)
        run_fail(run_id=run_id, reason=reason)
    return requeued


def runs_refinalise_stalled(*, stall_s: float) -> list[int]:
    """Re-dispatch `finalise_run` for running runs whose chunks are all stored but which have
    had no statistics for ``stall_s`` since their last chunk finished (the worker computing
    them died). Returns the run ids.

    Finalising is idempotent (`run_complete` acts once), so a duplicate finalise of a run whose
    statistics are merely slow costs time, never correctness.
    """
    from django.db.models import F, Max

    from .tasks import finalise_run

    cutoff = timezone.now() - timedelta(seconds=stall_s)
    run_ids = list(
        SimulationRun.objects.filter(
            status=RunStatus.RUNNING, chunks_done=F("chunks_total"), statistics__isnull=True
        )
        .annotate(last_chunk_at=Max("chunks__finished_at"))
        .filter(last_chunk_at__lt=cutoff)
        .values_list("pk", flat=True)
    )
    for run_id in run_ids:
        logger.warning(
            "run %s: all chunks stored but no statistics for %g s; finalise re-dispatched",
            run_id,
            stall_s,
        )
        transaction.on_commit(lambda run_id=run_id: finalise_run.delay(run_id))
    return run_ids


@dataclass(frozen=True)
class ChunkOutcome:
    stored: bool
    run_complete: bool


def chunk_store(
    *,
    chunk_id: int,
    subjects: pd.DataFrame,
    assessments: pd.DataFrame,
    anatomy_params: dict[str, dict],
    label_map_paths: dict[str, str],
    compute_s: float,
    finalise: bool = True,
) -> ChunkOutcome:
    """Write one chunk's results, replacing whatever an earlier delivery of it wrote."""
    from .tasks import finalise_run

    with transaction.atomic():
        chunk = RunChunk.objects.select_for_update().get(pk=chunk_id)
        run = SimulationRun.objects.select_for_update().get(pk=chunk.run_id)
        if run.is_terminal:
            return ChunkOutcome(stored=False, run_complete=False)
        Assessment.objects.filter(
            run=run,
            subject__subject_index__gte=chunk.first_index,
            subject__subject_index__lt=chunk.first_index + chunk.count,
        )._raw_delete(Assessment.objects.db)
        Subject.objects.filter(
            run=run,
            subject_index__gte=chunk.first_index,
            subject_index__lt=chunk.first_index + chunk.count,
        ).delete()
        subjects_store(
            run=run,
            subjects=subjects,
            assessments=assessments,
            anatomy_params=anatomy_params,
            label_map_paths=label_map_paths,
        )
        chunk.status = ChunkStatus.DONE
        chunk.attempts += 1
        chunk.compute_s = compute_s
        chunk.finished_at = timezone.now()
        chunk.error = ""
        chunk.save()
        run.chunks_done = RunChunk.objects.filter(run=run, status=ChunkStatus.DONE).count()
        run.save(update_fields=["chunks_done"])
        complete = run.chunks_done == run.chunks_total
        if complete and finalise:
            finalise_run.delay_on_commit(run.pk)
    return ChunkOutcome(stored=True, run_complete=complete)


def run_complete(
    *,
    run_id: int,
    statistics: dict[str, Any],
    compute_s: float,
    subject_plots: dict[str, Any] | None = None,
) -> bool:
    """Store the run's statistics (and per-subject plot series) and mark it succeeded (once;
    later calls change nothing)."""
    with transaction.atomic():
        run = SimulationRun.objects.select_for_update().select_related("spec").get(pk=run_id)
        if run.status != RunStatus.RUNNING or run.chunks_done != run.chunks_total:
            return False
        RunStatistics.objects.update_or_create(
            run=run,
            defaults={
                "data": statistics,
                "subject_plots": subject_plots or {},
                "compute_s": compute_s,
            },
        )
        before = run.audit_state()
        run.status = RunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at"])
        audit_record(
            organisation=run.organisation,
            actor=None,
            action=Action.COMPLETE,
            target=run,
            before=before,
            after=run.audit_state(),
        )
    return True


# --- Bulk storage ------------------------------------------------------------------------------


def _native(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _jsonable(value: Any) -> Any:
    return json.loads(
        json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))
    )


def subjects_store(
    *,
    run: SimulationRun,
    subjects: pd.DataFrame,
    assessments: pd.DataFrame,
    anatomy_params: dict[str, dict] | None = None,
    label_map_paths: dict[str, str] | None = None,
    method: str = "auto",
) -> int:
    """Insert subjects and their assessments in bulk (COPY on PostgreSQL, batches elsewhere).

    Must run inside a transaction; the caller removed any earlier rows of the same subjects.
    ``method`` forces "copy" or "bulk_create" (the benchmark compares them). Returns the
    number of subjects written.
    """
    use_copy = connection.vendor == "postgresql" if method == "auto" else method == "copy"
    anatomy_params = anatomy_params or {}
    label_map_paths = label_map_paths or {}
    subject_rows = [
        {
            **{k: _native(row[k]) for k in SUBJECT_COLUMNS},
            "anatomy_params": _jsonable(anatomy_params.get(row["subject_id"], {})),
            "label_map_path": label_map_paths.get(row["subject_id"], ""),
        }
        for row in subjects.loc[:, list(SUBJECT_COLUMNS)].to_dict("records")
    ]
    for row in subject_rows:
        row["kps"] = int(row["kps"])
        for flag in ("mgmt_methylated", "idh_mutant", "os_event", "pfs_event"):
            row[flag] = bool(row[flag])
    if use_copy:
        ids = _copy_subjects(run, subject_rows)
    else:
        created = Subject.objects.bulk_create(
            [Subject(run=run, **row) for row in subject_rows], batch_size=BULK_BATCH_SIZE
        )
        ids = {subject.subject_id: subject.pk for subject in created}
    assessment_rows = [
        (
            run.pk,
            ids[row["subject_id"]],
            int(row["visit"]),
            int(row["day"]),
            float(row["enhancing_ml"]),
            float(row["necrosis_ml"]),
            float(row["edema_ml"]),
            float(row["spd_mm2"]),
            str(row["response"] or ""),
        )
        for row in assessments.loc[:, list(ASSESSMENT_COLUMNS)].to_dict("records")
    ]
    if use_copy:
        _copy_rows(Assessment, ASSESSMENT_DB_COLUMNS, assessment_rows)
    else:
        Assessment.objects.bulk_create(
            [
                Assessment(**dict(zip(ASSESSMENT_DB_COLUMNS, row, strict=True)))
                for row in assessment_rows
            ],
            batch_size=BULK_BATCH_SIZE,
        )
    return len(subject_rows)


ASSESSMENT_DB_COLUMNS = (
    "run_id",
    "subject_id",
    "visit",
    "day",
    "enhancing_ml",
    "necrosis_ml",
    "edema_ml",
    "spd_mm2",
    "response",
)
SUBJECT_DB_COLUMNS = ("run_id", *SUBJECT_COLUMNS, "anatomy_params", "label_map_path")


def _copy_rows(model: type, columns: Iterable[str], rows: Iterable[tuple]) -> None:
    table = model._meta.db_table
    column_list = ", ".join(f'"{name}"' for name in columns)
    with (
        connection.cursor() as cursor,
        cursor.copy(f'COPY "{table}" ({column_list}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _copy_subjects(run: SimulationRun, rows: list[dict]) -> dict[str, int]:
    _copy_rows(
        Subject,
        SUBJECT_DB_COLUMNS,
        (
            (
                run.pk,
                *(row[k] for k in SUBJECT_COLUMNS),
                json.dumps(row["anatomy_params"]),
                row["label_map_path"],
            )
            for row in rows
        ),
    )
    indices = [row["subject_index"] for row in rows]
    if not indices:
        return {}
    return dict(
        Subject.objects.filter(
            run=run, subject_index__gte=min(indices), subject_index__lte=max(indices)
        ).values_list("subject_id", "pk")
    )


def run_execute_inline(*, run_id: int) -> SimulationRun:
    """Run every pending chunk and the statistics in this process (demo seeding, `simulate
    --inline`): the same code path as the workers, without a broker."""
    import time

    from .statistics import compute_run_statistics_and_plots
    from .tasks import compute_chunk

    for chunk in RunChunk.objects.filter(run_id=run_id).exclude(status=ChunkStatus.DONE):
        if not run_mark_running(run_id=run_id):
            break
        chunk_mark_started(chunk_id=chunk.pk, worker="inline")
        run = SimulationRun.objects.select_related("spec").get(pk=run_id)
        computed = compute_chunk(
            run=run,
            chunk=chunk,
            heartbeat=lambda chunk_id=chunk.pk: chunk_heartbeat(chunk_id=chunk_id, worker="inline"),
        )
        chunk_store(chunk_id=chunk.pk, finalise=False, **computed)
    run = SimulationRun.objects.select_related("spec").get(pk=run_id)
    if run.status == RunStatus.RUNNING and run.chunks_done == run.chunks_total:
        started = time.perf_counter()
        statistics, subject_plots = compute_run_statistics_and_plots(run=run)
        run_complete(
            run_id=run_id,
            statistics=statistics,
            subject_plots=subject_plots,
            compute_s=time.perf_counter() - started,
        )
    return SimulationRun.objects.get(pk=run_id)
