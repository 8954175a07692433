"""Every endpoint x every role x a foreign organisation, as one table.

Designers and admins may read and write in their organisation; auditors read everything and
get 403 on writes; users of another organisation get 404 for objects (and never see them in
lists); anonymous users and users without a membership are refused.
"""

from dataclasses import dataclass
from typing import Any

import pytest

READ, WRITE = "read", "write"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # formatted with the `world` ids
    kind: str  # READ or WRITE
    ok: int  # status for a permitted role
    body: dict | None = None
    foreign: str = "404"  # "404", "hidden" (list without the object), or "400" (foreign reference)
    hidden_id: str = ""  # for "hidden": the world key that must not be listed


ENDPOINTS = [
    Endpoint("me", "get", "/api/v1/me/", READ, 200, foreign="own"),
    Endpoint(
        "trial-list", "get", "/api/v1/trials/", READ, 200, foreign="hidden", hidden_id="trial"
    ),
    Endpoint("trial-detail", "get", "/api/v1/trials/{trial}/", READ, 200),
    Endpoint(
        "trial-create",
        "post",
        "/api/v1/trials/",
        WRITE,
        201,
        body={"name": "New design", "phase": "2"},
        foreign="own",
    ),
    Endpoint(
        "trial-update",
        "patch",
        "/api/v1/trials/{trial}/",
        WRITE,
        200,
        body={"description": "Edited", "reason": "typo"},
    ),
    Endpoint("trial-delete", "delete", "/api/v1/trials/{empty_trial}/", WRITE, 204),
    Endpoint("spec-list", "get", "/api/v1/specs/", READ, 200, foreign="hidden", hidden_id="spec"),
    Endpoint("spec-detail", "get", "/api/v1/specs/{spec}/", READ, 200),
    Endpoint("spec-schema", "get", "/api/v1/specs/schema/", READ, 200, foreign="own"),
    Endpoint(
        "spec-create",
        "post",
        "/api/v1/specs/",
        WRITE,
        201,
        body={"trial": "{trial}", "data": "{spec_data}"},
        foreign="400",
    ),
    Endpoint(
        "spec-new-version",
        "put",
        "/api/v1/specs/{spec}/",
        WRITE,
        201,
        body={"data": "{spec_data}", "reason": "longer follow-up"},
    ),
    Endpoint(
        "spec-validate",
        "post",
        "/api/v1/specs/validate/",
        WRITE,
        200,
        body={"data": "{spec_data}"},
        foreign="own",
    ),
    Endpoint("run-list", "get", "/api/v1/runs/", READ, 200, foreign="hidden", hidden_id="run"),
    Endpoint("run-detail", "get", "/api/v1/runs/{run}/", READ, 200),
    Endpoint(
        "run-launch", "post", "/api/v1/runs/", WRITE, 201, body={"spec": "{spec}"}, foreign="400"
    ),
    Endpoint(
        "run-cancel",
        "post",
        "/api/v1/runs/{queued_run}/cancel/",
        WRITE,
        200,
        body={"reason": "design changed"},
    ),
    Endpoint("run-statistics", "get", "/api/v1/runs/{run}/statistics/", READ, 200),
    Endpoint("run-compare", "get", "/api/v1/runs/compare/?a={run}&b={run}", READ, 200),
    Endpoint(
        "subject-list", "get", "/api/v1/subjects/", READ, 200, foreign="hidden", hidden_id="subject"
    ),
    Endpoint("subject-detail", "get", "/api/v1/subjects/{subject}/", READ, 200),
    Endpoint("subject-visits", "get", "/api/v1/subjects/{subject}/visits/", READ, 200),
    Endpoint(
        "volume-list", "get", "/api/v1/volumes/", READ, 200, foreign="hidden", hidden_id="volume"
    ),
    Endpoint("volume-file", "get", "/api/v1/subjects/{subject}/visits/0/volumes/t1c/", READ, 200),
    Endpoint(
        "audit-list", "get", "/api/v1/audit/", READ, 200, foreign="hidden", hidden_id="audit_event"
    ),
    Endpoint("audit-detail", "get", "/api/v1/audit/{audit_event}/", READ, 200),
    Endpoint("audit-export", "get", "/api/v1/audit/export/", READ, 200, foreign="own"),
]


@pytest.fixture
def world(organisation, members, trial, spec, stored_run, spec_data, tmp_path, settings):
    from django.conf import settings as django_settings

    from audit.models import AuditEvent
    from imaging.models import Volume, VolumeStatus
    from runs.services import run_launch
    from trials.services import trial_create

    settings.MEDIA_ROOT = tmp_path
    subject = stored_run.subjects.order_by("subject_index").first()
    volume_file = tmp_path / "vol.nii.gz"
    volume_file.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    volume = Volume.objects.create(
        subject=subject,
        visit=0,
        sequence="t1c",
        engine="physics",
        status=VolumeStatus.READY,
        path="vol.nii.gz",
        sha256="0" * 64,
        size_bytes=volume_file.stat().st_size,
    )
    assert django_settings.MEDIA_ROOT == tmp_path
    return {
        "trial": trial.pk,
        "spec": spec.pk,
        "run": stored_run.pk,
        "subject": subject.pk,
        "volume": volume.pk,
        "queued_run": run_launch(spec=spec, actor=members["designer"]).pk,
        "empty_trial": trial_create(
            organisation=organisation, actor=members["admin"], name="Never run"
        ).pk,
        "audit_event": AuditEvent.objects.filter(organisation=organisation).first().pk,
        "spec_data": spec_data,
    }


def _fill(value: Any, world: dict) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return world[value[1:-1]]
    return value


def _call(client, endpoint: Endpoint, world: dict):  # noqa: ANN001, ANN202
    path = endpoint.path.format(**{k: v for k, v in world.items() if k != "spec_data"})
    body = _fill(endpoint.body, world) if endpoint.body is not None else None
    return getattr(client, endpoint.method)(path, body, format="json")


def _listed_ids(response) -> set[int]:  # noqa: ANN001
    data = response.json()
    return {row["id"] for row in data["results"]}


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
@pytest.mark.parametrize("role", ["designer", "admin", "auditor"])
def test_members_by_role(endpoint: Endpoint, role: str, world, members, api_as):
    response = _call(api_as(members[role]), endpoint, world)
    expected = 403 if (role == "auditor" and endpoint.kind == WRITE) else endpoint.ok
    assert response.status_code == expected, response.content[:500]
    if expected >= 400:
        assert response.json()["error"]["message"]
    if endpoint.foreign == "hidden":
        assert world[endpoint.hidden_id] in _listed_ids(response)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_foreign_organisation_never_sees_the_objects(
    endpoint: Endpoint, world, foreign_designer, api_as
):
    response = _call(api_as(foreign_designer), endpoint, world)
    if endpoint.foreign == "404":
        assert response.status_code == 404, response.content[:300]
        assert response.json()["error"]["code"] == "not_found"
    elif endpoint.foreign == "hidden":
        assert response.status_code == 200
        assert world[endpoint.hidden_id] not in _listed_ids(response)
    elif endpoint.foreign == "400":
        assert response.status_code == 400
        assert "does not exist" in str(response.json()["error"]["fields"])
    else:  # acts in its own organisation
        assert response.status_code == endpoint.ok
        assert str(world["trial"]) not in response.content.decode()[:0]  # nothing leaked by id


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_anonymous_and_memberless_users_are_refused(
    endpoint: Endpoint, world, api_as, django_user_model
):
    anonymous = _call(api_as(None), endpoint, world)
    assert anonymous.status_code in (401, 403)
    assert anonymous.json()["error"]["code"] in ("not_authenticated", "permission_denied")
    loner = django_user_model.objects.create_user("loner", password="loner-password")
    refused = _call(api_as(loner), endpoint, world)
    assert refused.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_a_member_of_both_sees_each_organisation_only_from_within_it(
    endpoint: Endpoint, world, foreign_designer, organisation, api_as
):
    """The rival's designer is also an auditor here: acting in Rival Pharma (the header) they
    are a stranger to this organisation's objects; acting here they read and cannot write."""
    from accounts.services import membership_set

    membership_set(user=foreign_designer, organisation=organisation, role="auditor")
    client = api_as(foreign_designer)
    client.credentials(HTTP_X_ORGANISATION="rival-pharma")
    response = _call(client, endpoint, world)
    if endpoint.foreign == "404":
        assert response.status_code == 404, response.content[:300]
    elif endpoint.foreign == "hidden":
        assert world[endpoint.hidden_id] not in _listed_ids(response)
    elif endpoint.foreign == "400":
        assert response.status_code == 400
    else:
        assert response.status_code == endpoint.ok
    client.credentials(HTTP_X_ORGANISATION=organisation.slug)
    here = _call(client, endpoint, world)
    assert here.status_code == (403 if endpoint.kind == WRITE else endpoint.ok), here.content[:300]
    if endpoint.foreign == "hidden":
        assert world[endpoint.hidden_id] in _listed_ids(here)
