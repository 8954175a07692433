"""Migration 0002 (one membership per organisation instead of one per user) keeps every row."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0002_membership_per_organisation")]


@pytest.mark.django_db(transaction=True)
def test_existing_memberships_survive_and_a_second_one_becomes_possible():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="veteran")
    organisation = old.get_model("accounts", "Organisation").objects.create(name="Old", slug="old")
    other = old.get_model("accounts", "Organisation").objects.create(name="New", slug="new")
    old.get_model("accounts", "Membership").objects.create(
        user=user, organisation=organisation, role="auditor"
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    membership_model = new.get_model("accounts", "Membership")
    assert list(
        membership_model.objects.values_list("user__username", "organisation__slug", "role")
    ) == [("veteran", "old", "auditor")]
    membership_model.objects.create(user_id=user.pk, organisation_id=other.pk, role="designer")
    assert membership_model.objects.filter(user_id=user.pk).count() == 2
