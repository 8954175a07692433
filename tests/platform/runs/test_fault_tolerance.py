"""A worker killed (SIGKILL) in the middle of a run: the run still completes with exactly
`size` subjects, byte-identical to an undisturbed run of the same spec and seed.

The dead worker's message stays unacknowledged in Redis for the visibility timeout (4 h, left
as in production here); what brings the chunk back within seconds is the stalled-chunk sweep:
a real `celery beat` (stall limit 5 s, sweep every 2 s) sends `runs.requeue_stalled_chunks`,
which re-dispatches the chunk whose heartbeat stopped. On Redis + PostgreSQL in CI; it runs on
the embedded default too (SQLite, filesystem broker, which drops a dead worker's message: there
the sweep is the only way back).
"""

import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SPEC = {
    "size": 4,
    "seed": 777,
    "indication": "gbm_newly_diagnosed",
    "regimen": "stupp_rt_tmz",
    "follow_up_months": 12,
}
#: The sweep's settings for this test (production: 300 s and 60 s).
TEST_STALL_S = 5
TEST_SWEEP_S = 2


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _kill_worker_and_its_pool(pid: int) -> None:
    """SIGKILL the worker and its prefork pool at once, as when its machine dies: a pool
    process outliving its parent would otherwise finish the chunk by itself."""
    for victim in (*_children(pid), pid):
        os.kill(victim, signal.SIGKILL)


def _run_contents(run) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, bytes]]:  # noqa: ANN001
    from runs.models import Subject
    from runs.selectors import assessments_frame, subjects_frame

    labels = {
        subject_id: Path(settings.MEDIA_ROOT, path).read_bytes()
        for subject_id, path in Subject.objects.filter(run=run).values_list(
            "subject_id", "label_map_path"
        )
    }
    return subjects_frame(run=run), assessments_frame(run=run), labels


def test_a_run_survives_a_worker_killed_mid_chunk(
    worker_factory, members, trial, wait_for, wait_for_run, tmp_path
):
    from django.db import connection

    from audit.models import AuditEvent
    from core.workers import start_beat
    from runs.models import RunChunk, SimulationRun, Subject
    from runs.services import run_launch
    from trials.services import spec_create

    spec = spec_create(trial=trial, actor=members["designer"], data=SPEC)
    doomed = worker_factory(["simulation"], name="doomed")

    disturbed = run_launch(spec=spec, actor=members["designer"], chunk_size=1)
    busy_chunk = wait_for(
        lambda: RunChunk.objects.filter(
            run=disturbed, worker__startswith=f"{doomed.hostname}/", status="pending"
        ).first(),
        timeout_s=120,
        what="the doomed worker to start a chunk",
    )
    _kill_worker_and_its_pool(doomed.process.pid)
    doomed.process.wait(timeout=10)
    killed_at = time.monotonic()
    assert RunChunk.objects.get(pk=busy_chunk.pk).status == "pending", "killed mid-chunk"

    rescuer = worker_factory(["simulation", "default"], name="rescuer")
    beat = start_beat(
        schedule_path=tmp_path / "beat-schedule",
        extra_env={
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "SCA_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
            "SCA_CHUNK_STALL_S": str(TEST_STALL_S),
            "SCA_CHUNK_SWEEP_S": str(TEST_SWEEP_S),
        },
        log_path=tmp_path / "beat.log",
    )
    try:

        def finished():  # noqa: ANN202
            run = SimulationRun.objects.get(pk=disturbed.pk)
            return run if run.is_terminal else None

        disturbed = wait_for(finished, timeout_s=240, what="the disturbed run")
    finally:
        beat.terminate()
        beat.wait(timeout=20)
    recovered_s = time.monotonic() - killed_at
    assert disturbed.status == "succeeded", disturbed.error
    assert Subject.objects.filter(run=disturbed).count() == SPEC["size"]
    requeued = RunChunk.objects.get(pk=busy_chunk.pk)
    assert requeued.status == "done" and requeued.requeues == 1
    # By the rescuer (or the session's shared worker, when another test started it).
    assert requeued.worker and not requeued.worker.startswith(f"{doomed.hostname}/")
    # Minutes, not Redis's 4 h: the sweep, not a redelivery, brought it back.
    assert recovered_s < 240
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] >= 3600
    event = AuditEvent.objects.get(object_type="runs.RunChunk", object_id=str(busy_chunk.pk))
    assert event.action == "update" and event.actor is None
    assert event.before["worker"].startswith(f"{doomed.hostname}/")
    assert "no heartbeat from worker" in event.reason and "re-dispatched" in event.reason

    undisturbed = run_launch(spec=spec, actor=members["designer"], chunk_size=2)
    undisturbed = wait_for_run(undisturbed.pk, timeout_s=240)
    assert undisturbed.status == "succeeded", undisturbed.error
    rescuer.stop()

    subjects_a, assessments_a, labels_a = _run_contents(disturbed)
    subjects_b, assessments_b, labels_b = _run_contents(undisturbed)
    pd.testing.assert_frame_equal(subjects_a, subjects_b, check_exact=True)
    pd.testing.assert_frame_equal(assessments_a, assessments_b, check_exact=True)
    assert len(subjects_a) == SPEC["size"] and subjects_a["subject_id"].is_unique
    assert labels_a.keys() == labels_b.keys() and labels_a == labels_b
    assert disturbed.statistics.data == undisturbed.statistics.data
