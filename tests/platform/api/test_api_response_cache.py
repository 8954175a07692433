"""The response cache of succeeded runs (runs.api_cache): same bytes as the uncached answer,
ETag / 304, authorisation before any cached body, nothing cached for a run still running."""

import json

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone

pytestmark = pytest.mark.django_db

NO_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
}


@pytest.fixture
def spec_data(spec_data: dict) -> dict:
    """Runs of 120 subjects: three pages of 50."""
    return {**spec_data, "size": 120}


@pytest.fixture(autouse=True)
def empty_api_cache():
    caches["api"].clear()
    yield
    caches["api"].clear()


def _paths(run) -> dict[str, str]:  # noqa: ANN001
    return {
        "run status": f"/api/v1/runs/{run.pk}/",
        "statistics": f"/api/v1/runs/{run.pk}/statistics/",
        "subject page": f"/api/v1/subjects/?run={run.pk}&page=2&ordering=-age",
        "filtered subjects": f"/api/v1/subjects/?run={run.pk}&sex=F&age_min=40",
    }


def test_a_cached_answer_is_byte_identical_to_the_uncached_one(stored_run, designer_api):
    for name, path in _paths(stored_run).items():
        with override_settings(CACHES=NO_CACHE):
            uncached = designer_api.get(path)
        first = designer_api.get(path)
        second = designer_api.get(path)
        assert uncached.status_code == first.status_code == second.status_code == 200, name
        assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit"), name
        assert second.content == first.content == uncached.content, name
        assert second["Content-Type"] == first["Content-Type"] == uncached["Content-Type"]
        assert second["ETag"] == first["ETag"] == uncached["ETag"], name


def test_the_subject_page_matches_the_model_serializer(stored_run, designer_api):
    """The list serialises `values()` rows: same JSON as `SubjectSerializer` on the models."""
    from runs.api import SubjectSerializer
    from runs.models import Subject

    with override_settings(CACHES=NO_CACHE):
        page = designer_api.get(f"/api/v1/subjects/?run={stored_run.pk}&ordering=-os_months")
    expected = SubjectSerializer(
        Subject.objects.filter(run=stored_run).order_by("-os_months")[:50], many=True
    ).data
    body = page.json()
    assert body["count"] == stored_run.size
    assert json.dumps(body["results"]) == json.dumps(expected)


def test_if_none_match_answers_304_without_a_body(stored_run, designer_api):
    for name, path in _paths(stored_run).items():
        etag = designer_api.get(path)["ETag"]
        assert etag.startswith('"') and etag.endswith('"'), name
        not_modified = designer_api.get(path, HTTP_IF_NONE_MATCH=etag)
        assert not_modified.status_code == 304, name
        assert not_modified.content == b"" and not_modified["ETag"] == etag
        weak = designer_api.get(path, HTTP_IF_NONE_MATCH=f'"other", W/{etag}')
        assert weak.status_code == 304, name
        changed = designer_api.get(path, HTTP_IF_NONE_MATCH='"something-else"')
        assert changed.status_code == 200 and changed.content, name


def test_the_query_string_is_normalised(stored_run, designer_api):
    run = stored_run.pk
    first = designer_api.get(f"/api/v1/subjects/?run={run}&page=2&sex=M")
    reordered = designer_api.get(f"/api/v1/subjects/?sex=M&page=2&run={run}")
    other_page = designer_api.get(f"/api/v1/subjects/?run={run}&page=1&sex=M")
    assert reordered["X-Cache"] == "hit" and reordered.content == first.content
    assert other_page["X-Cache"] == "miss" and other_page.content != first.content


def test_other_organisations_and_anonymous_clients_never_get_a_cached_body(
    stored_run, designer_api, foreign_designer, api_as
):
    paths = _paths(stored_run)
    for path in paths.values():
        assert designer_api.get(path)["X-Cache"] == "miss"  # now cached
    foreign = api_as(foreign_designer)
    anonymous = api_as(None)
    for name in ("run status", "statistics"):
        answer = foreign.get(paths[name])
        assert answer.status_code == 404, name
        assert "X-Cache" not in answer and "ETag" not in answer
        assert anonymous.get(paths[name]).status_code in (401, 403), name
    # Their subject list is scoped to their organisation: nothing (page 2 of nothing: 404).
    assert foreign.get(paths["subject page"]).status_code == 404
    for name in ("subject page", "filtered subjects"):
        answer = foreign.get(paths[name].replace("page=2", "page=1"))
        assert answer.status_code == 200 and answer.json()["count"] == 0, name
        assert "X-Cache" not in answer and "ETag" not in answer
        assert anonymous.get(paths[name]).status_code in (401, 403), name
    # An ETag learnt by the owner does not open a 304 (nor a body) to anyone else.
    etag = designer_api.get(paths["statistics"])["ETag"]
    assert foreign.get(paths["statistics"], HTTP_IF_NONE_MATCH=etag).status_code == 404
    assert anonymous.get(paths["statistics"], HTTP_IF_NONE_MATCH=etag).status_code in (401, 403)


def test_a_running_run_is_never_cached(spec, members, designer_api):
    from runs.models import RunStatus, SimulationRun
    from runs.services import run_launch

    run = run_launch(spec=spec, actor=members["designer"], chunk_size=30, dispatch=False)
    SimulationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, chunks_done=1)
    status = designer_api.get(f"/api/v1/runs/{run.pk}/")
    assert status.status_code == 200 and status.json()["progress"] == 0.25
    assert "X-Cache" not in status and "ETag" not in status
    SimulationRun.objects.filter(pk=run.pk).update(chunks_done=3)
    assert designer_api.get(f"/api/v1/runs/{run.pk}/").json()["progress"] == 0.75
    subjects = designer_api.get(f"/api/v1/subjects/?run={run.pk}")
    assert subjects.status_code == 200 and "X-Cache" not in subjects
    statistics = designer_api.get(f"/api/v1/runs/{run.pk}/statistics/")
    assert statistics.status_code == 404 and "X-Cache" not in statistics


def test_a_new_version_marker_changes_the_key(stored_run, designer_api):
    """Status and finish time decide the marker: a run finished again (or no longer
    succeeded) is answered afresh, never from the entry of its earlier state."""
    from runs.models import RunStatus, SimulationRun

    path = f"/api/v1/runs/{stored_run.pk}/"
    before = designer_api.get(path)
    assert designer_api.get(path)["X-Cache"] == "hit"
    SimulationRun.objects.filter(pk=stored_run.pk).update(finished_at=timezone.now())
    after = designer_api.get(path)
    assert (
        after["X-Cache"] == "miss" and after.json()["finished_at"] != before.json()["finished_at"]
    )
    SimulationRun.objects.filter(pk=stored_run.pk).update(status=RunStatus.FAILED)
    failed = designer_api.get(path)
    assert failed.json()["status"] == "failed" and "X-Cache" not in failed


def test_the_browsable_api_is_not_cached(stored_run, designer_api):
    page = designer_api.get(f"/api/v1/runs/{stored_run.pk}/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "X-Cache" not in page


def test_a_bad_page_or_filter_is_answered_as_usual_and_not_cached(stored_run, designer_api):
    missing = designer_api.get(f"/api/v1/subjects/?run={stored_run.pk}&page=999")
    assert missing.status_code == 404 and "X-Cache" not in missing
    invalid = designer_api.get(f"/api/v1/subjects/?run={stored_run.pk}&age_min=old")
    assert invalid.status_code == 400 and "age_min" in invalid.content.decode()
    assert designer_api.get("/api/v1/subjects/?run=abc").status_code == 400
