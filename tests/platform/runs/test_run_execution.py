"""Runs through real Celery workers and the real simulation: launch, progress, statistics,
lazy volume rendering with Range streaming, cancellation, and failure after retries."""

from pathlib import Path

import pytest
from django.conf import settings

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SIX_SUBJECTS = {
    "size": 6,
    "seed": 424242,
    "indication": "gbm_newly_diagnosed",
    "regimen": "stupp_rt_tmz",
    "follow_up_months": 24,
}


@pytest.fixture
def six_subject_spec(trial, members):
    from trials.services import spec_create

    return spec_create(trial=trial, actor=members["designer"], data=SIX_SUBJECTS)


def test_a_small_run_end_to_end_through_a_real_worker(
    default_worker, designer_api, six_subject_spec, wait_for_run, wait_for
):
    from audit.models import AuditEvent
    from runs.models import RunChunk, Subject

    launched = designer_api.post(
        "/api/v1/runs/", {"spec": six_subject_spec.pk, "name": "smoke"}, format="json"
    )
    assert launched.status_code == 201, launched.content
    body = launched.json()
    assert (body["status"], body["size"], body["seed"], body["progress"]) == (
        "queued",
        6,
        424242,
        0,
    )
    assert body["software_version"] and body["calibration_version"]
    run = wait_for_run(body["id"])
    assert run.status == "succeeded", run.error

    # status with progress and timings
    status = designer_api.get(f"/api/v1/runs/{run.pk}/").json()
    assert status["progress"] == 1.0 and status["chunks_done"] == status["chunks_total"]
    assert status["duration_s"] > 0
    assert all(c.status == "done" for c in RunChunk.objects.filter(run=run))

    # exactly `size` subjects, with their visits and label maps
    subjects = Subject.objects.filter(run=run).order_by("subject_index")
    assert [s.subject_id for s in subjects] == [f"SCA-{i:06d}" for i in range(1, 7)]
    first = subjects[0]
    assert Path(settings.MEDIA_ROOT, first.label_map_path).is_file()
    detail = designer_api.get(f"/api/v1/subjects/{first.pk}/").json()
    assert detail["visits"][0]["visit"] == 0 and len(detail["visits"]) >= 2
    listing = designer_api.get("/api/v1/subjects/", {"run": run.pk, "sex": first.sex})
    assert {row["sex"] for row in listing.json()["results"]} == {first.sex}

    # statistics, stored once at the end
    stats = designer_api.get(f"/api/v1/runs/{run.pk}/statistics/").json()
    assert stats["n_subjects"] == 6 and stats["table_one"]["n"] == 6
    os_km = stats["kaplan_meier"]["os"]
    assert os_km["at_risk"]["n"][0] == 6 and len(os_km["curve"]["survival"]) >= 2
    assert {row["covariate"] for row in stats["bias"]["rows"]} >= {"age", "sex", "race"}

    # audit: launch by the designer, completion by the system
    actions = set(
        AuditEvent.objects.filter(
            object_type="runs.SimulationRun", object_id=str(run.pk)
        ).values_list("action", flat=True)
    )
    assert {"launch", "complete"} <= actions

    # a volume: rendered lazily on first request, then streamed with Range support
    url = f"/api/v1/subjects/{first.pk}/visits/0/volumes/t1c/"
    first_response = designer_api.get(url)
    assert first_response.status_code in (200, 202)

    def rendered():  # noqa: ANN202
        response = designer_api.get(url)
        assert response.status_code in (200, 202), response.content[:300]
        return response if response.status_code == 200 else None

    whole = wait_for(rendered, timeout_s=180, what="the volume to render")
    content = b"".join(whole.streaming_content)
    assert content[:2] == b"\x1f\x8b" and whole["Accept-Ranges"] == "bytes"
    assert int(whole["Content-Length"]) == len(content)
    part = designer_api.get(url, HTTP_RANGE="bytes=10-99")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 10-99/{len(content)}"
    assert b"".join(part.streaming_content) == content[10:100]
    assert designer_api.get(url, HTTP_RANGE=f"bytes={len(content)}-").status_code == 416
    from imaging.models import Volume

    volume = Volume.objects.get(subject=first, visit=0, sequence="t1c")
    import hashlib

    assert volume.sha256 == hashlib.sha256(content).hexdigest()
    assert Volume.objects.filter(subject=first, visit=0, status="ready").count() == 5  # 4 + seg
    from imaging.services import volume_ensure_rendered

    cached = volume_ensure_rendered(subject=first, visit=0, sequence="t1c", engine="physics")
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == volume.sha256  # not re-rendered


def test_cancelling_a_run_stops_it(
    default_worker, designer_api, members, six_subject_spec, wait_for
):
    from runs.models import RunStatistics, SimulationRun
    from runs.services import run_launch

    run = run_launch(spec=six_subject_spec, actor=members["designer"], chunk_size=1)
    response = designer_api.post(
        f"/api/v1/runs/{run.pk}/cancel/", {"reason": "wrong regimen"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = designer_api.post(f"/api/v1/runs/{run.pk}/cancel/", {}, format="json")
    assert again.status_code == 400
    # the queued chunks are consumed and skipped; the run stays cancelled, without statistics
    wait_for(lambda: _broker_idle(run.pk), timeout_s=60, what="the queue to drain")
    run.refresh_from_db()
    assert run.status == "cancelled" and run.chunks_done < run.chunks_total
    assert not RunStatistics.objects.filter(run=run).exists()
    assert SimulationRun.objects.get(pk=run.pk).finished_at is not None


def _broker_idle(run_id: int) -> bool:
    from config.celery_app import app

    inspector = app.control.inspect(timeout=1.0)
    active = inspector.active() or {}
    reserved = inspector.reserved() or {}
    busy = [
        t
        for tasks in (*active.values(), *reserved.values())
        for t in tasks
        if t["name"] == "runs.simulate_chunk"
    ]
    return not busy


def test_a_failing_chunk_is_retried_then_fails_the_run_with_the_reason(
    default_worker, members, six_subject_spec, wait_for_run
):
    from audit.models import AuditEvent
    from runs.models import RunChunk
    from runs.services import run_launch

    run = run_launch(
        spec=six_subject_spec, actor=members["designer"], chunk_size=6, device="quantum"
    )  # the simulation refuses an unknown device
    run = wait_for_run(run.pk, timeout_s=90)
    assert run.status == "failed"
    assert "chunk 0 (subjects 0-5) failed" in run.error and "device" in run.error
    assert f"after {settings.SCA_CHUNK_MAX_RETRIES + 1} attempts" in run.error
    assert RunChunk.objects.get(run=run).status == "failed"
    event = AuditEvent.objects.get(
        object_type="runs.SimulationRun", object_id=str(run.pk), action="fail"
    )
    assert "device" in event.reason
