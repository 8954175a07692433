"""The Django admin shows trials, specs, runs, volumes and the audit trail but cannot change them.

Those changes go through services that audit them; an admin add/change/delete would not.
"""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_site(django_user_model) -> Client:
    superuser = django_user_model.objects.create_superuser(
        "site-admin", "site-admin@example.org", "site-admin-password"
    )
    client = Client()
    client.force_login(superuser)
    return client


def _admin_paths(stored_run, spec) -> dict[str, object]:
    from audit.models import AuditEvent

    return {
        "trials/trial": spec.trial,
        "trials/cohortspec": spec,
        "runs/simulationrun": stored_run,
        "audit/auditevent": AuditEvent.objects.filter(organisation=spec.trial.organisation).first(),
    }


def test_the_admin_lists_and_shows_audited_data_read_only(admin_site, stored_run, spec):
    for path, obj in _admin_paths(stored_run, spec).items():
        assert admin_site.get(f"/admin/{path}/").status_code == 200, path
        page = admin_site.get(f"/admin/{path}/{obj.pk}/change/")
        assert page.status_code == 200, path
        assert b'name="_save"' not in page.content, f"{path} offers a save button"
        assert admin_site.get(f"/admin/{path}/add/").status_code == 403, path


def test_the_admin_refuses_to_change_or_delete_audited_data(admin_site, stored_run, spec):
    from runs.models import SimulationRun
    from trials.models import Trial

    trial = spec.trial
    for path, obj in _admin_paths(stored_run, spec).items():
        deleted = admin_site.post(f"/admin/{path}/{obj.pk}/delete/", {"post": "yes"})
        assert deleted.status_code == 403, path
    changed = admin_site.post(
        f"/admin/trials/trial/{trial.pk}/change/", {"name": "renamed", "phase": trial.phase}
    )
    assert changed.status_code == 403
    trial.refresh_from_db()
    assert trial.name != "renamed"
    assert SimulationRun.objects.filter(pk=stored_run.pk).exists()
    assert Trial.objects.filter(pk=trial.pk).exists()
