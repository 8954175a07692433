"""State changes of simulation runs: launch, chunk results, completion, failure, cancellation.

Each change is one `transaction.atomic` that writes its own audit event; tasks are queued only
after the launching transaction commits.
"""

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
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
    RunChunk.objects.filter(pk=chunk_id).update(worker=worker[:200], started_at=timezone.now())


def chunk_record_error(*, chunk_id: int, error: str) -> None:
    RunChunk.objects.filter(pk=chunk_id).update(error=error[:4000])


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


def run_complete(*, run_id: int, statistics: dict[str, Any], compute_s: float) -> bool:
    """Store the run's statistics and mark it succeeded (once; later calls change nothing)."""
    with transaction.atomic():
        run = SimulationRun.objects.select_for_update().select_related("spec").get(pk=run_id)
        if run.status != RunStatus.RUNNING or run.chunks_done != run.chunks_total:
            return False
        RunStatistics.objects.update_or_create(
            run=run, defaults={"data": statistics, "compute_s": compute_s}
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

    from .statistics import compute_run_statistics
    from .tasks import compute_chunk

    for chunk in RunChunk.objects.filter(run_id=run_id).exclude(status=ChunkStatus.DONE):
        if not run_mark_running(run_id=run_id):
            break
        chunk_mark_started(chunk_id=chunk.pk, worker="inline")
        run = SimulationRun.objects.select_related("spec").get(pk=run_id)
        chunk_store(chunk_id=chunk.pk, finalise=False, **compute_chunk(run=run, chunk=chunk))
    run = SimulationRun.objects.select_related("spec").get(pk=run_id)
    if run.status == RunStatus.RUNNING and run.chunks_done == run.chunks_total:
        started = time.perf_counter()
        statistics = compute_run_statistics(run=run)
        run_complete(run_id=run_id, statistics=statistics, compute_s=time.perf_counter() - started)
    return SimulationRun.objects.get(pk=run_id)
