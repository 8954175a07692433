"""Stalled chunks: heartbeats, claiming a chunk, and the sweep that re-dispatches a chunk whose
worker fell silent (services.chunks_requeue_stalled, task runs.requeue_stalled_chunks).

Here in one process (the tasks are captured, not sent); the fault test proves the whole path
with a killed worker, a real beat and a rescuing worker on Redis and PostgreSQL."""

from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db

STALL_S = 60


@pytest.fixture
def running_run(spec, members):
    """A running run of 8 subjects in 4 chunks; chunk 0 was taken by a worker."""
    from runs.models import RunStatus, SimulationRun
    from runs.services import chunk_claim, run_launch

    run = run_launch(spec=spec, actor=members["designer"], chunk_size=2, dispatch=False)
    SimulationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    first = run.chunks.get(index=0)
    assert chunk_claim(chunk_id=first.pk, worker="w1@host/11", stall_s=STALL_S) == "claimed"
    return run


def _age_heartbeat(chunk, seconds: float) -> None:  # noqa: ANN001
    from runs.models import RunChunk

    RunChunk.objects.filter(pk=chunk.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def _sweep(capture, **kwargs):  # noqa: ANN001, ANN202
    from runs.services import chunks_requeue_stalled

    with capture(execute=False) as callbacks:
        requeued = chunks_requeue_stalled(stall_s=STALL_S, max_requeues=3, **kwargs)
    return requeued, callbacks


def test_a_silent_chunk_is_requeued_once_with_an_audit_event(
    running_run, django_capture_on_commit_callbacks
):
    from audit.models import AuditEvent

    chunk = running_run.chunks.get(index=0)
    _age_heartbeat(chunk, STALL_S + 5)
    requeued, callbacks = _sweep(django_capture_on_commit_callbacks)
    assert requeued == [chunk.pk] and len(callbacks) == 1  # one task, after commit
    chunk.refresh_from_db()
    assert (chunk.status, chunk.worker, chunk.heartbeat_at, chunk.requeues) == (
        "pending",
        "",
        None,
        1,
    )
    event = AuditEvent.objects.get(object_type="runs.RunChunk", object_id=str(chunk.pk))
    assert event.action == "update" and event.organisation_id == running_run.organisation_id
    assert event.before["worker"] == "w1@host/11" and event.after["requeues"] == 1
    assert "chunk 0 (subjects 0-1)" in event.reason and "w1@host/11" in event.reason
    # The queued copy has no heartbeat: the next sweep leaves it alone.
    assert _sweep(django_capture_on_commit_callbacks)[0] == []


def test_live_queued_done_and_finished_chunks_are_left_alone(
    running_run, django_capture_on_commit_callbacks
):
    from runs.models import RunChunk, RunStatus, SimulationRun

    chunks = {c.index: c for c in running_run.chunks.all()}
    _age_heartbeat(chunks[0], STALL_S - 10)  # alive
    # chunk 1: queued, never started (no heartbeat), however long it waits
    RunChunk.objects.filter(pk=chunks[2].pk).update(status="done")
    _age_heartbeat(chunks[2], STALL_S * 10)
    assert _sweep(django_capture_on_commit_callbacks)[0] == []
    _age_heartbeat(chunks[0], STALL_S * 10)
    SimulationRun.objects.filter(pk=running_run.pk).update(status=RunStatus.CANCELLED)
    assert _sweep(django_capture_on_commit_callbacks)[0] == []


def test_a_chunk_stalling_again_and_again_fails_its_run(
    running_run, django_capture_on_commit_callbacks
):
    from runs.models import RunChunk, SimulationRun

    chunk = running_run.chunks.get(index=0)
    RunChunk.objects.filter(pk=chunk.pk).update(requeues=3)
    _age_heartbeat(chunk, STALL_S + 1)
    requeued, callbacks = _sweep(django_capture_on_commit_callbacks)
    assert requeued == [] and callbacks == []
    run = SimulationRun.objects.get(pk=running_run.pk)
    assert run.status == "failed"
    assert "chunk 0 (subjects 0-1)" in run.error and "stalled 4 times" in run.error
    assert RunChunk.objects.get(pk=chunk.pk).status == "failed"


def test_claiming_a_chunk(running_run):
    from runs.models import RunChunk
    from runs.services import chunk_claim, chunk_heartbeat, chunk_record_error

    chunk = running_run.chunks.get(index=0)
    # Another process while the first worker's heartbeat is fresh: a duplicate, do nothing.
    assert chunk_claim(chunk_id=chunk.pk, worker="w2@host/12", stall_s=STALL_S) == (
        "running-elsewhere"
    )
    # The same process again (a retry): take it.
    assert chunk_claim(chunk_id=chunk.pk, worker="w1@host/11", stall_s=STALL_S) == "claimed"
    # A failed attempt clears the heartbeat: its retry may run in any process at once.
    chunk_record_error(chunk_id=chunk.pk, error="boom")
    assert chunk_claim(chunk_id=chunk.pk, worker="w2@host/12", stall_s=STALL_S) == "claimed"
    # The heartbeat keeps it alive; once old, another worker may take over.
    _age_heartbeat(chunk, STALL_S + 1)
    chunk_heartbeat(chunk_id=chunk.pk, worker="w2@host/12")
    assert chunk_claim(chunk_id=chunk.pk, worker="w3@host/13", stall_s=STALL_S) == (
        "running-elsewhere"
    )
    _age_heartbeat(chunk, STALL_S + 1)
    assert chunk_claim(chunk_id=chunk.pk, worker="w3@host/13", stall_s=STALL_S) == "claimed"
    assert RunChunk.objects.get(pk=chunk.pk).worker == "w3@host/13"
    RunChunk.objects.filter(pk=chunk.pk).update(status="done")
    assert chunk_claim(chunk_id=chunk.pk, worker="w4@host/14", stall_s=STALL_S) == ("already-done")
    assert chunk_claim(chunk_id=10**9, worker="w4@host/14", stall_s=STALL_S) == "gone"


def test_a_redelivered_chunk_of_a_finished_run_does_nothing(stored_run):
    """Delivered again after its run succeeded (the broker's own redelivery, hours later):
    the task returns at once and the subjects stay exactly `size`."""
    from runs.models import Subject
    from runs.tasks import simulate_chunk

    chunk = stored_run.chunks.first()
    assert simulate_chunk.apply(args=[chunk.pk]).get() == "already-done"
    assert simulate_chunk.apply(args=[10**9]).get() == "gone"
    assert Subject.objects.filter(run=stored_run).count() == stored_run.size


def test_the_sweep_task_uses_the_settings(
    running_run, settings, django_capture_on_commit_callbacks
):
    from runs.tasks import requeue_stalled_chunks

    settings.SCA_CHUNK_STALL_S = STALL_S
    chunk = running_run.chunks.get(index=0)
    _age_heartbeat(chunk, STALL_S - 5)
    with django_capture_on_commit_callbacks(execute=False):
        assert requeue_stalled_chunks.apply().get() == []
        assert requeue_stalled_chunks.apply(kwargs={"stall_s": 1}).get() == [chunk.pk]


def test_the_sweep_is_scheduled_wherever_workers_run():
    """The embedded `serve` worker runs beat inside it; the deployment has one beat service;
    the sweep goes to the `default` queue that the CPU workers consume."""
    from pathlib import Path

    import yaml
    from django.conf import settings

    from core.workers import worker_command

    entry = settings.CELERY_BEAT_SCHEDULE["requeue-stalled-chunks"]
    assert entry["task"] == "runs.requeue_stalled_chunks"
    assert entry["schedule"] == settings.SCA_CHUNK_SWEEP_S < settings.SCA_CHUNK_STALL_S
    assert settings.CELERY_TASK_ROUTES["runs.requeue_stalled_chunks"]["queue"] == "default"
    assert "--beat" in worker_command(["default"], beat=True)
    assert "--beat" not in worker_command(["default"])
    compose = yaml.safe_load(Path(settings.REPO_ROOT, "docker-compose.yml").read_text())
    beat = compose["services"]["beat"]
    assert beat["command"][:4] == ["celery", "-A", "config", "beat"]
    assert "default" in compose["services"]["worker"]["command"][-1].split(",")


def test_a_run_whose_statistics_worker_died_is_finalised_again(
    running_run, django_capture_on_commit_callbacks
):
    from runs.models import ChunkStatus, RunChunk, SimulationRun
    from runs.services import runs_refinalise_stalled

    # Every chunk is stored; the worker computing the statistics died, so the run stays running.
    last_chunk_at = timezone.now() - timedelta(seconds=STALL_S - 10)
    RunChunk.objects.filter(run=running_run).update(
        status=ChunkStatus.DONE, finished_at=last_chunk_at
    )
    SimulationRun.objects.filter(pk=running_run.pk).update(chunks_done=running_run.chunks_total)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert runs_refinalise_stalled(stall_s=STALL_S) == []  # statistics may still be coming
    assert callbacks == []

    RunChunk.objects.filter(run=running_run).update(
        finished_at=timezone.now() - timedelta(seconds=STALL_S + 5)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert runs_refinalise_stalled(stall_s=STALL_S) == [running_run.pk]
    assert len(callbacks) == 1


def test_refinalising_leaves_runs_with_chunks_to_do_alone(
    running_run, django_capture_on_commit_callbacks
):
    from runs.models import ChunkStatus, RunChunk
    from runs.services import runs_refinalise_stalled

    RunChunk.objects.filter(run=running_run, index=0).update(
        status=ChunkStatus.DONE, finished_at=timezone.now() - timedelta(seconds=STALL_S * 10)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert runs_refinalise_stalled(stall_s=STALL_S) == []
    assert callbacks == []
