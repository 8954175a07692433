"""A worker killed (SIGKILL) in the middle of a run: the run still completes with exactly
`size` subjects, byte-identical to an undisturbed run of the same spec and seed.

Needs a broker that redelivers the unacknowledged message of a dead worker (Redis); the
embedded filesystem broker does not, so the test is skipped there.
"""

import os
import signal
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
#: Messages unacknowledged for this long are redelivered (production: 4 h).
TEST_VISIBILITY_TIMEOUT_S = 10


def _sweep_unacknowledged() -> None:
    """Run Kombu's Redis sweep that puts back messages unacknowledged for longer than the
    visibility timeout. Live workers run it themselves, but only every 10th tick of 10 s; the
    test runs the same sweep every poll so as not to wait those 100 s."""
    from config.celery_app import app

    options = {**app.conf.broker_transport_options, "visibility_timeout": TEST_VISIBILITY_TIMEOUT_S}
    with app.connection_for_write(transport_options=options) as connection:
        connection.default_channel.qos.restore_visible(num=100)


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


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"),
    reason="needs a broker that redelivers a dead worker's unacked tasks "
    "(Redis, as in CI); the embedded filesystem broker does not",
)
def test_a_run_survives_a_worker_killed_mid_chunk(
    worker_factory, members, trial, wait_for, wait_for_run, monkeypatch
):
    from runs.models import RunChunk, SimulationRun, Subject
    from runs.services import run_launch
    from trials.services import spec_create

    spec = spec_create(trial=trial, actor=members["designer"], data=SPEC)
    monkeypatch.setenv("SCA_BROKER_VISIBILITY_TIMEOUT_S", str(TEST_VISIBILITY_TIMEOUT_S))
    doomed = worker_factory(["simulation"], name="doomed")

    disturbed = run_launch(spec=spec, actor=members["designer"], chunk_size=1)
    busy_chunk = wait_for(
        lambda: RunChunk.objects.filter(
            run=disturbed, worker=doomed.hostname, status="pending"
        ).first(),
        timeout_s=120,
        what="the doomed worker to start a chunk",
    )
    _kill_worker_and_its_pool(doomed.process.pid)
    doomed.process.wait(timeout=10)
    assert RunChunk.objects.get(pk=busy_chunk.pk).status == "pending", "killed mid-chunk"

    rescuer = worker_factory(["simulation"], name="rescuer")

    def finished_after_sweeping():  # noqa: ANN202
        _sweep_unacknowledged()
        run = SimulationRun.objects.get(pk=disturbed.pk)
        return run if run.is_terminal else None

    disturbed = wait_for(finished_after_sweeping, timeout_s=240, what="the disturbed run")
    assert disturbed.status == "succeeded", disturbed.error
    assert Subject.objects.filter(run=disturbed).count() == SPEC["size"]
    redelivered = RunChunk.objects.get(pk=busy_chunk.pk)
    assert redelivered.status == "done" and redelivered.worker != doomed.hostname

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
