"""Server side of the dashboard pages: sign-in, roles, organisation scoping, stored statistics."""

import json
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_as():
    def make(user):  # noqa: ANN001, ANN202
        client = Client()
        client.force_login(user)
        return client

    return make


def _config(response, element_id: str) -> dict:
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, f"{element_id} is embedded in the page"
    return json.loads(match.group(1))


@pytest.mark.parametrize("url", ["/trials/", "/audit/", "/exports/", "/organisations/"])
def test_pages_need_a_signed_in_user(url):
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_sign_in_with_the_styled_form_then_land_on_the_trials(members):
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'<label for="id_username">' in page.content
    response = client.post(
        "/accounts/login/", {"username": "acme-designer", "password": "designer-password"}
    )
    assert response.status_code == 302 and response["Location"] == "/trials/"
    assert client.get("/trials/").status_code == 200


def test_a_wrong_password_is_refused_in_words(members):
    response = Client().post("/accounts/login/", {"username": "acme-designer", "password": "x"})
    assert response.status_code == 200 and b'role="alert"' in response.content


def test_designer_creates_a_trial_and_it_is_audited(members, client_as):
    from audit.models import AuditEvent
    from trials.models import Trial

    response = client_as(members["designer"]).post(
        "/trials/", {"name": "Phase III GBM", "phase": "3"}
    )
    trial = Trial.objects.get(name="Phase III GBM")
    assert response.status_code == 302 and response["Location"] == f"/trials/{trial.pk}/"
    assert AuditEvent.objects.filter(object_type="trials.Trial", object_id=str(trial.pk)).exists()


def test_a_duplicate_trial_name_is_shown_next_to_the_field(members, trial, client_as):
    response = client_as(members["designer"]).post("/trials/", {"name": trial.name, "phase": "3"})
    assert response.status_code == 400 and b'class="field-error"' in response.content


def test_auditor_is_refused_every_change(members, trial, client_as):
    client = client_as(members["auditor"])
    for response in (
        client.get(f"/trials/{trial.pk}/design/"),
        client.post("/trials/", {"name": "Nope"}),
    ):
        assert response.status_code == 403
        assert b"can read but not change anything" in response.content


def test_designer_form_is_built_from_the_simulation_schema(members, trial, client_as):
    import simulation

    response = client_as(members["designer"]).get(f"/trials/{trial.pk}/design/")
    config = _config(response, "designer-config")
    assert config["schema"] == simulation.spec_json_schema()
    assert [p["key"] for p in config["presets"]] == [
        "stupp_rt_tmz",
        "rt_alone",
        "lomustine",
        "bevacizumab",
    ]
    assert config["trial"] == trial.pk and config["spec"] is None


def test_another_organisations_objects_answer_404(foreign_designer, trial, stored_run, client_as):
    client = client_as(foreign_designer)
    subject = stored_run.subjects.first()
    for url in (
        f"/trials/{trial.pk}/",
        f"/runs/{stored_run.pk}/",
        f"/runs/{stored_run.pk}/dashboard/",
        f"/runs/{stored_run.pk}/bias/",
        f"/runs/{stored_run.pk}/dashboard/series.json",
        f"/runs/{stored_run.pk}/subjects/{subject.subject_id}/",
        f"/subjects/{subject.pk}/",
    ):
        assert client.get(url).status_code == 404, url


def test_dashboard_embeds_the_stored_statistics_and_reports_server_time(
    members, stored_run, client_as
):
    response = client_as(members["auditor"]).get(f"/runs/{stored_run.pk}/dashboard/")
    assert response.status_code == 200
    config = _config(response, "dashboard-config")
    assert config["statistics"] == stored_run.statistics.data
    assert re.fullmatch(r"app;dur=\d+\.\d", response["Server-Timing"])
    assert b'id="table-one"' in response.content


def test_subject_series_are_the_plots_stored_with_the_statistics(members, stored_run, client_as):
    from runs.models import RunStatistics

    client = client_as(members["designer"])
    url = f"/runs/{stored_run.pk}/dashboard/series.json"
    data = client.get(url).json()
    assert data == stored_run.statistics.subject_plots
    assert len(data["swimmer"]["subject_id"]) == len(data["spaghetti"]["subject_id"]) == 8
    changes = data["waterfall"]["best_change_percent"]
    assert changes == sorted(changes, reverse=True)
    # Served as stored, never recomputed: a changed row is what the page gets.
    RunStatistics.objects.filter(run=stored_run).update(subject_plots={"format": 1, "marker": 1})
    assert client.get(url).json() == {"format": 1, "marker": 1}
    RunStatistics.objects.filter(run=stored_run).update(subject_plots={})
    missing = client.get(url)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_stored"


def test_plots_link_subjects_by_id_to_their_viewer(members, stored_run, client_as):
    subject = stored_run.subjects.order_by("subject_index").first()
    client = client_as(members["auditor"])
    response = client.get(f"/runs/{stored_run.pk}/subjects/{subject.subject_id}/")
    assert response.status_code == 302 and response["Location"] == f"/subjects/{subject.pk}/"
    assert client.get(f"/runs/{stored_run.pk}/subjects/SCA-999999/").status_code == 404


def test_bias_tab_lists_flagged_items_as_sentences(members, stored_run, client_as):
    response = client_as(members["auditor"]).get(f"/runs/{stored_run.pk}/bias/")
    assert response.status_code == 200
    flagged = [row for row in stored_run.statistics.data["bias"]["rows"] if row["flagged"]]
    assert response.content.count(b"imbalance threshold.") == len(flagged) > 0


def test_viewer_lists_every_visit_and_points_at_the_volume_endpoint(members, stored_run, client_as):
    subject = stored_run.subjects.order_by("subject_index").first()
    response = client_as(members["designer"]).get(f"/subjects/{subject.pk}/")
    config = _config(response, "viewer-config")
    assert [v["visit"] for v in config["visits"]] == [0, 1, 2, 3]
    assert (
        config["volume_url"]
        == f"/api/v1/subjects/{subject.pk}/visits/{{visit}}/volumes/{{sequence}}/"
    )


def test_audit_log_filters_and_offers_the_same_filters_as_csv(members, stored_run, client_as):
    client = client_as(members["auditor"])
    response = client.get("/audit/", {"action": "launch", "since": "2000-01-01"})
    assert response.status_code == 200
    assert b"<td>launch</td>" in response.content and b"<td>create</td>" not in response.content
    assert (
        b"/api/v1/audit/export/?action=launch&amp;since=2000-01-01T00%3A00%3A00Z"
        in response.content
    )
    csv = client.get("/api/v1/audit/export/?action=launch&since=2000-01-01T00:00:00Z")
    assert csv.status_code == 200 and csv.content.decode().count("\n") == 2  # header + launch


def test_audit_log_rejects_a_bad_date_in_words(members, client_as):
    response = client_as(members["auditor"]).get("/audit/", {"since": "31/01/2026"})
    assert response.status_code == 400 and b"Use a date like 2026-01-31." in response.content


def test_subgroup_curves_are_computed_on_demand(members, stored_run, client_as):
    client = client_as(members["designer"])
    url = f"/runs/{stored_run.pk}/dashboard/subgroup.json"
    males = stored_run.subjects.filter(sex="M").count()
    data = client.get(url, {"covariate": "sex", "level": "M"}).json()
    assert data["n"] == males == data["kaplan_meier"]["os"]["n"]
    assert data["kaplan_meier"]["pfs"]["curve"]["survival"][0] <= 1.0
    refused = client.get(url, {"covariate": "os_months", "level": "1"})
    assert refused.status_code == 400 and "covariate" in refused.json()["error"]["fields"]
    empty = client.get(url, {"covariate": "sex", "level": "X"})
    assert empty.status_code == 400


def test_editing_a_frozen_spec_asks_for_the_reason(members, stored_run, client_as):
    spec = stored_run.spec
    response = client_as(members["designer"]).get(f"/trials/{spec.trial_id}/design/?spec={spec.pk}")
    config = _config(response, "designer-config")
    assert config["frozen"] is True and config["initial"] == spec.data
    assert b'id="reason-block" hidden' not in response.content, "the reason field is shown"
