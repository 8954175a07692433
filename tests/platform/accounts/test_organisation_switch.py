"""A user in several organisations acts within one at a time, with that membership's role.

The browser chooses with the header's switcher (kept in the session, audited); scripts choose
with the ``X-Organisation`` header (slug or id), which may be left out only by a user with one
membership. Objects of the organisation not chosen answer 404, as a stranger's would.
"""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_hats(organisation, other_organisation):
    """Designer of Acme Oncology (A), auditor of Rival Pharma (B)."""
    from accounts.services import member_create, membership_set

    user = member_create(
        organisation=organisation, username="two-hats", password="two-hats-pw", role="designer"
    ).user
    membership_set(user=user, organisation=other_organisation, role="auditor")
    return user


@pytest.fixture
def trials(organisation, other_organisation, members, foreign_designer):
    from trials.services import trial_create

    return {
        "A": trial_create(organisation=organisation, actor=members["designer"], name="A arm"),
        "B": trial_create(organisation=other_organisation, actor=foreign_designer, name="B arm"),
    }


def _token_client(user) -> APIClient:  # noqa: ANN001
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _trial_names(response) -> set[str]:  # noqa: ANN001
    assert response.status_code == 200, response.content[:300]
    return {row["name"] for row in response.json()["results"]}


# --- Model and services ---------------------------------------------------------------------------


def test_one_membership_per_organisation_each_with_its_own_role(two_hats, organisation):
    from django.db import IntegrityError, transaction

    from accounts.models import Membership

    roles = dict(two_hats.memberships.values_list("organisation__slug", "role"))
    assert roles == {"acme-oncology": "designer", "rival-pharma": "auditor"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=two_hats, organisation=organisation, role="auditor")


def test_changing_a_role_in_one_organisation_leaves_the_other_alone(two_hats, other_organisation):
    from accounts.services import membership_set
    from audit.models import AuditEvent

    membership_set(user=two_hats, organisation=other_organisation, role="admin")
    roles = dict(two_hats.memberships.values_list("organisation__slug", "role"))
    assert roles == {"acme-oncology": "designer", "rival-pharma": "admin"}
    event = AuditEvent.objects.filter(organisation=other_organisation, action="update").get()
    assert (event.before["role"], event.after["role"]) == ("auditor", "admin")


# --- Browser: the switcher ------------------------------------------------------------------------


def test_browser_user_switches_and_sees_only_the_chosen_organisation(
    two_hats, trials, organisation, other_organisation
):
    from audit.models import AuditEvent
    from trials.models import Trial

    client = Client()
    client.force_login(two_hats)
    page = client.get("/trials/").content.decode()
    assert "A arm" in page and "B arm" not in page  # home (joined first): Acme, as designer
    assert 'id="org-switch"' in page and 'data-role="designer"' in page
    assert client.post("/trials/", {"name": "Made in A", "phase": "2"}).status_code == 302
    assert Trial.objects.get(name="Made in A").organisation == organisation
    assert client.get(f"/trials/{trials['B'].pk}/").status_code == 404

    switched = client.post("/organisations/", {"organisation": other_organisation.pk})
    assert switched.status_code == 302 and switched["Location"] == "/trials/"
    event = AuditEvent.objects.get(organisation=other_organisation, reason="organisation switch")
    assert event.actor == two_hats and event.object_type == "accounts.Membership"
    assert event.before == {"current_organisation": "acme-oncology"}
    assert event.after == {"current_organisation": "rival-pharma", "role": "auditor"}

    page = client.get("/trials/").content.decode()
    assert "B arm" in page and "A arm" not in page and 'data-role="auditor"' in page
    assert client.get(f"/trials/{trials['A'].pk}/").status_code == 404
    assert client.get(f"/trials/{trials['B'].pk}/").status_code == 200
    refused = client.post("/trials/", {"name": "Made in B", "phase": "2"})
    assert refused.status_code == 403 and b"can read but not change anything" in refused.content
    assert not Trial.objects.filter(name="Made in B").exists()
    # The page's own API calls (session auth, no header) follow the switch.
    assert _trial_names(client.get("/api/v1/trials/")) == {"B arm"}
    assert client.post("/api/v1/trials/", {"name": "x"}, "application/json").status_code == 403


def test_switching_needs_the_csrf_token(two_hats, other_organisation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(two_hats)
    page = client.get("/trials/").content.decode()
    assert (
        client.post("/organisations/", {"organisation": other_organisation.pk}).status_code == 403
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        "/organisations/",
        {"organisation": other_organisation.pk, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_switching_to_an_organisation_one_does_not_belong_to_is_refused(
    members, other_organisation
):
    from audit.models import AuditEvent

    client = Client()
    client.force_login(members["designer"])
    before = AuditEvent.objects.count()
    for value in (other_organisation.pk, "", "not-a-number"):
        response = client.post("/organisations/", {"organisation": value})
        assert (
            response.status_code == 400 and b"Choose one of your organisations" in response.content
        )
    assert AuditEvent.objects.count() == before
    assert client.get("/organisations/").status_code == 200


def test_the_switcher_shows_only_for_users_with_several_organisations(members, two_hats):
    single = Client()
    single.force_login(members["designer"])
    page = single.get("/trials/").content.decode()
    assert 'id="org-switch"' not in page and "Acme Oncology" in page
    listing = single.get("/organisations/").content.decode()
    assert "You belong to one organisation only" in listing


def test_a_membership_removed_while_chosen_falls_back_to_the_one_left(
    two_hats, other_organisation, trials
):
    from accounts.models import Membership
    from accounts.services import membership_delete

    client = Client()
    client.force_login(two_hats)
    client.post("/organisations/", {"organisation": other_organisation.pk})
    membership_delete(
        membership=Membership.objects.get(user=two_hats, organisation=other_organisation)
    )
    page = client.get("/trials/").content.decode()
    assert "A arm" in page and "B arm" not in page and 'id="org-switch"' not in page


# --- API: the X-Organisation header ---------------------------------------------------------------


def test_api_header_chooses_the_organisation_by_slug_or_id(two_hats, trials, other_organisation):
    client = _token_client(two_hats)
    assert _trial_names(client.get("/api/v1/trials/", HTTP_X_ORGANISATION="acme-oncology")) == {
        "A arm"
    }
    as_b = {"HTTP_X_ORGANISATION": str(other_organisation.pk)}
    assert _trial_names(client.get("/api/v1/trials/", **as_b)) == {"B arm"}
    me = client.get("/api/v1/me/", **as_b).json()
    assert (me["organisation_slug"], me["role"], me["can_write"]) == (
        "rival-pharma",
        "auditor",
        False,
    )
    assert [(m["slug"], m["role"]) for m in me["memberships"]] == [
        ("acme-oncology", "designer"),
        ("rival-pharma", "auditor"),
    ]
    # Auditor in B: refused edits there; A's objects are not found from B.
    refused = client.post("/api/v1/trials/", {"name": "No"}, format="json", **as_b)
    assert refused.status_code == 403 and "auditor" in refused.json()["error"]["message"]
    assert client.get(f"/api/v1/trials/{trials['A'].pk}/", **as_b).status_code == 404
    created = client.post(
        "/api/v1/trials/",
        {"name": "Scripted", "phase": "2"},
        format="json",
        HTTP_X_ORGANISATION="acme-oncology",
    )
    assert created.status_code == 201


def test_api_without_header_is_ambiguous_for_several_and_fine_for_one(two_hats, members, trials):
    response = _token_client(two_hats).get("/api/v1/trials/")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "several organisations" in error["fields"]["X-Organisation"][0]
    assert "acme-oncology, rival-pharma" in error["fields"]["X-Organisation"][0]
    assert _trial_names(_token_client(members["designer"]).get("/api/v1/trials/")) == {"A arm"}


@pytest.mark.parametrize("value", ["rival-pharma", "nowhere", "999999", " "])
def test_api_header_naming_an_organisation_not_held_is_a_400(members, other_organisation, value):
    response = _token_client(members["designer"]).get("/api/v1/trials/", HTTP_X_ORGANISATION=value)
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["X-Organisation"][0]
    assert "not a member" in message and "acme-oncology" in message


def test_api_header_with_a_foreign_objects_id_still_404(foreign_designer, trials):
    client = _token_client(foreign_designer)
    assert (
        client.get(
            f"/api/v1/trials/{trials['A'].pk}/", HTTP_X_ORGANISATION="rival-pharma"
        ).status_code
        == 404
    )


def test_pages_start_in_the_organisation_joined_first_whatever_its_name(
    organisation, other_organisation, trials
):
    """Rival Pharma sorts after Acme Oncology, but it is this user's home organisation."""
    from accounts.services import member_create, membership_set

    user = member_create(
        organisation=other_organisation,
        username="rival-first",
        password="pw-rival",
        role="designer",
    ).user
    membership_set(user=user, organisation=organisation, role="auditor")
    client = Client()
    client.force_login(user)
    page = client.get("/trials/").content.decode()
    assert "B arm" in page and "A arm" not in page
