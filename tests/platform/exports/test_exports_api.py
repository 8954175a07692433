"""Exports through the API and a real worker: request, progress, download, audit, bad input."""

import io
import zipfile

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FOUR_SUBJECTS = {
    "size": 4,
    "seed": 777,
    "indication": "gbm_newly_diagnosed",
    "regimen": "stupp_rt_tmz",
    "follow_up_months": 12,
}
OPTIONS = {
    "datasets": ["DM", "ADSL", "ADTTE"],
    "visits": [0, 1],
    "sequences": ["t1c", "t2f"],
    "resolution_mm": 2,
}


@pytest.fixture
def finished_run(trial, members, designer_api, default_worker, wait_for_run):
    from trials.services import spec_create

    spec = spec_create(trial=trial, actor=members["designer"], data=FOUR_SUBJECTS)
    launched = designer_api.post("/api/v1/runs/", {"spec": spec.pk}, format="json")
    assert launched.status_code == 201, launched.content
    run = wait_for_run(launched.json()["id"])
    assert run.status == "succeeded", run.error
    return run


def wait_for_export(api, export_id, wait_for) -> dict:  # noqa: ANN001
    def finished():  # noqa: ANN202
        body = api.get(f"/api/v1/exports/{export_id}/").json()
        return body if body["status"] in {"succeeded", "failed"} else None

    return wait_for(finished, timeout_s=240, what=f"export {export_id}")


def test_export_of_a_run_is_built_by_a_worker_audited_and_downloadable(
    finished_run, designer_api, members, api_as, wait_for
):
    from audit.models import AuditEvent
    from exports import verify_archive

    requested = designer_api.post(
        "/api/v1/exports/", {"run": finished_run.pk, "options": OPTIONS}, format="json"
    )
    assert requested.status_code == 201, requested.content
    export = wait_for_export(designer_api, requested.json()["id"], wait_for)
    assert export["status"] == "succeeded", export["error"]
    assert export["progress"] == 1.0 and export["sha256"] and export["download_url"]

    download = designer_api.get(export["download_url"])
    assert download.status_code == 200
    payload = b"".join(download.streaming_content)
    assert len(payload) == export["size_bytes"]
    names = zipfile.ZipFile(io.BytesIO(payload)).namelist()
    assert "manifest.json" in names
    assert any(n.endswith("dm.xpt") for n in names) and any(n.endswith("adtte.xpt") for n in names)
    assert any(n.endswith("_ce-gadolinium_T1w.nii.gz") for n in names)

    partial = designer_api.get(export["download_url"], HTTP_RANGE="bytes=0-99")
    assert partial.status_code == 206 and len(b"".join(partial.streaming_content)) == 100

    from django.conf import settings

    from exports.models import Export

    archive = settings.MEDIA_ROOT / Export.objects.get(pk=export["id"]).archive_path
    assert verify_archive(archive) == []

    actions = set(
        AuditEvent.objects.filter(
            object_type="exports.Export", object_id=str(export["id"])
        ).values_list("action", flat=True)
    )
    assert {"export", "complete"} <= actions

    # the same run and options again: a byte-identical archive
    again = designer_api.post(
        "/api/v1/exports/", {"run": finished_run.pk, "options": OPTIONS}, format="json"
    )
    second = wait_for_export(designer_api, again.json()["id"], wait_for)
    assert second["sha256"] == export["sha256"]

    # auditors read and download but cannot request; other organisations see nothing
    auditor = api_as(members["auditor"])
    assert auditor.get(f"/api/v1/exports/{export['id']}/").status_code == 200
    refused = auditor.post("/api/v1/exports/", {"run": finished_run.pk}, format="json")
    assert refused.status_code == 403


def test_bad_export_requests_are_refused_with_the_field_named(
    stored_run_factory, spec, designer_api, foreign_designer, api_as
):
    from runs.models import RunStatus
    from runs.services import run_launch

    run = stored_run_factory(spec)
    unknown = designer_api.post(
        "/api/v1/exports/", {"run": run.pk, "options": {"colour": "red"}}, format="json"
    )
    assert unknown.status_code == 400
    assert "colour" in str(unknown.json()["error"]["fields"])

    bad_resolution = designer_api.post(
        "/api/v1/exports/", {"run": run.pk, "options": {"resolution_mm": 3}}, format="json"
    )
    assert bad_resolution.status_code == 400
    assert "resolution_mm" in str(bad_resolution.json()["error"]["fields"])

    queued = run_launch(spec=spec, actor=None, dispatch=False)
    assert queued.status == RunStatus.QUEUED
    unfinished = designer_api.post("/api/v1/exports/", {"run": queued.pk}, format="json")
    assert unfinished.status_code == 400
    assert "only a succeeded run" in unfinished.json()["error"]["fields"]["run"][0]

    foreign = api_as(foreign_designer).post("/api/v1/exports/", {"run": run.pk}, format="json")
    assert foreign.status_code == 400  # the run is not among theirs: named, not revealed
    assert "run" in foreign.json()["error"]["fields"]
