"""Django admin changes to organisations and memberships go through the audited services."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_site(django_user_model) -> Client:
    superuser = django_user_model.objects.create_superuser(
        "site-admin", "site-admin@example.org", "site-admin-password"
    )
    client = Client(HTTP_USER_AGENT="admin-browser")
    client.force_login(superuser)
    return client


def _events(**filters):  # noqa: ANN003, ANN202
    from audit.models import AuditEvent

    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_adding_and_renaming_an_organisation_in_the_admin_is_audited(admin_site):
    from accounts.models import Organisation

    added = admin_site.post(
        "/admin/accounts/organisation/add/", {"name": "Neuro Trials", "slug": "neuro"}
    )
    assert added.status_code == 302, added.content[:500]
    organisation = Organisation.objects.get(slug="neuro")
    (created,) = _events(organisation=organisation)
    assert (created.action, created.actor_username, created.client_user_agent) == (
        "create",
        "site-admin",
        "admin-browser",
    )
    assert created.after == {"name": "Neuro Trials", "slug": "neuro"}

    changed = admin_site.post(
        f"/admin/accounts/organisation/{organisation.pk}/change/",
        {"name": "Neuro Trials Ltd", "slug": "neuro"},
    )
    assert changed.status_code == 302
    update = _events(organisation=organisation, action="update")[0]
    assert update.before["name"] == "Neuro Trials" and update.after["name"] == "Neuro Trials Ltd"
    organisation.refresh_from_db()
    assert organisation.name == "Neuro Trials Ltd"


def test_organisations_cannot_be_deleted_in_the_admin(admin_site, organisation):
    from accounts.models import Organisation

    response = admin_site.post(
        f"/admin/accounts/organisation/{organisation.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert Organisation.objects.filter(pk=organisation.pk).exists()


def test_membership_add_role_change_and_delete_in_the_admin_are_audited(
    admin_site, members, other_organisation
):
    from accounts.models import Membership

    designer = members["designer"]
    added = admin_site.post(
        "/admin/accounts/membership/add/",
        {"user": designer.pk, "organisation": other_organisation.pk, "role": "auditor"},
    )
    assert added.status_code == 302, added.content[:800]
    membership = Membership.objects.get(user=designer, organisation=other_organisation)
    assert designer.memberships.count() == 2  # the first membership stays
    (created,) = _events(organisation=other_organisation, object_type="accounts.Membership")
    assert created.action == "create" and created.after["role"] == "auditor"

    # Only the role can change; user and organisation are read-only on the change form.
    changed = admin_site.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"user": 999, "organisation": 999, "role": "designer"},
    )
    assert changed.status_code == 302
    membership.refresh_from_db()
    assert (membership.role, membership.organisation, membership.user) == (
        "designer",
        other_organisation,
        designer,
    )
    update = _events(organisation=other_organisation, action="update")[0]
    assert (update.before["role"], update.after["role"]) == ("auditor", "designer")

    deleted = admin_site.post(
        f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    removal = _events(organisation=other_organisation, action="delete")[0]
    assert removal.object_id == str(membership.pk) and removal.before["user"] == "acme-designer"


def test_bulk_delete_of_memberships_in_the_admin_is_audited_one_by_one(
    admin_site, members, organisation
):
    from accounts.models import Membership

    chosen = Membership.objects.filter(user__in=[members["auditor"], members["admin"]])
    ids = sorted(chosen.values_list("pk", flat=True))
    response = admin_site.post(
        "/admin/accounts/membership/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk__in=ids).exists()
    deleted = _events(organisation=organisation, action="delete")
    assert sorted(int(e.object_id) for e in deleted) == ids


def test_a_duplicate_membership_is_refused_by_the_admin_form(admin_site, members, organisation):
    from accounts.models import Membership

    response = admin_site.post(
        "/admin/accounts/membership/add/",
        {"user": members["auditor"].pk, "organisation": organisation.pk, "role": "designer"},
    )
    assert response.status_code == 200 and b"errornote" in response.content
    assert Membership.objects.get(user=members["auditor"]).role == "auditor"


def test_the_audit_trail_is_read_only_in_the_admin(admin_site, organisation):
    from audit.models import AuditEvent

    event = AuditEvent.objects.filter(organisation=organisation).first()
    assert admin_site.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
    assert (
        admin_site.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert admin_site.get("/admin/audit/auditevent/add/").status_code == 403
