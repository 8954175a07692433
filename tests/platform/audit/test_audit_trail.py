"""The audit trail: written by each service in its transaction, append-only, exportable."""

import csv
import io

import pytest
from django.db import connection, transaction


@pytest.mark.django_db
def test_each_change_records_who_what_when_and_why(trial, members, spec_data):
    from audit.models import AuditEvent
    from trials.services import spec_create, trial_update

    trial_update(
        trial=trial, actor=members["admin"], changes={"phase": "2"}, reason="Phase II design"
    )
    spec = spec_create(trial=trial, actor=members["designer"], data=spec_data)
    events = list(AuditEvent.objects.filter(organisation=trial.organisation).order_by("id"))
    actions = [(e.action, e.object_type) for e in events]
    assert ("create", "trials.Trial") in actions
    assert ("update", "trials.Trial") in actions
    assert ("create", "trials.CohortSpec") in actions
    update = next(e for e in events if e.action == "update" and e.object_type == "trials.Trial")
    assert update.actor == members["admin"] and update.actor_username == "acme-admin"
    assert (update.before["phase"], update.after["phase"], update.reason) == (
        "3",
        "2",
        "Phase II design",
    )
    assert update.created_at.utcoffset().total_seconds() == 0
    created = next(e for e in events if e.object_type == "trials.CohortSpec")
    assert created.object_id == str(spec.pk) and created.after["data"]["size"] == 8


@pytest.mark.django_db
def test_launch_and_cancel_are_audited_with_the_client(designer_api, spec):
    from audit.models import AuditEvent

    launched = designer_api.post(
        "/api/v1/runs/",
        {"spec": spec.pk},
        format="json",
        HTTP_USER_AGENT="pytest-client/1.0",
        REMOTE_ADDR="10.1.2.3",
    )
    assert launched.status_code == 201
    run_id = launched.json()["id"]
    cancelled = designer_api.post(
        f"/api/v1/runs/{run_id}/cancel/", {"reason": "wrong arm"}, format="json"
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    events = AuditEvent.objects.filter(object_type="runs.SimulationRun", object_id=str(run_id))
    launch = events.get(action="launch")
    assert (launch.client_ip, launch.client_user_agent) == ("10.1.2.3", "pytest-client/1.0")
    cancel = events.get(action="cancel")
    assert cancel.reason == "wrong arm" and cancel.before["status"] == "queued"


@pytest.mark.django_db
def test_a_change_and_its_audit_event_commit_or_roll_back_together(organisation, members):
    from audit.models import AuditEvent
    from trials.models import Trial
    from trials.services import trial_create

    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        trial_create(organisation=organisation, actor=members["designer"], name="Doomed")
        raise RuntimeError("the surrounding work failed")
    assert not Trial.objects.filter(name="Doomed").exists()
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_the_application_cannot_update_or_delete_audit_events(trial):
    from audit.models import AuditEvent, AuditTrailIsAppendOnly

    event = AuditEvent.objects.filter(organisation=trial.organisation).first()
    event.reason = "rewritten history"
    with pytest.raises(AuditTrailIsAppendOnly):
        event.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        event.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(reason="x")
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.reason == ""


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction(trial, members):
    from audit.services import audit_record

    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(
            organisation=trial.organisation,
            actor=members["designer"],
            action="update",
            target=trial,
        )


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger exists on PostgreSQL only (SQLite: app level)",
)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET reason = 'tampered' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
)
def test_postgresql_trigger_rejects_raw_update_and_delete(trial, statement):
    from django.db import DatabaseError

    from audit.models import AuditEvent

    event = AuditEvent.objects.filter(organisation=trial.organisation).first()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk, reason="").exists()


def test_the_trigger_is_installed_when_on_postgresql(django_db_blocker, django_db_setup):
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            pytest.skip("SQLite has no trigger; the model refuses changes instead")
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditevent'::regclass"
            " AND NOT tgisinternal"
        )
        assert ("audit_event_append_only",) in cursor.fetchall()


@pytest.mark.django_db
def test_auditors_browse_filter_and_export_the_trail_as_csv(trial, members, api_as):
    from audit.models import AuditEvent

    auditor = api_as(members["auditor"])
    listing = auditor.get("/api/v1/audit/", {"object_type": "trials.Trial", "action": "create"})
    assert listing.status_code == 200
    assert [row["object_id"] for row in listing.json()["results"]] == [str(trial.pk)]
    exported = auditor.get("/api/v1/audit/export/", {"object_type": "trials.Trial"})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert rows and rows[0]["object_id"] == str(trial.pk) and rows[0]["action"] == "create"
    export_event = AuditEvent.objects.get(action="export")
    assert export_event.actor == members["auditor"] and export_event.after["rows"] == len(rows)
    assert auditor.delete(f"/api/v1/audit/{export_event.pk}/").status_code == 403
    assert auditor.patch(f"/api/v1/audit/{export_event.pk}/", {}).status_code == 403
    admin = api_as(members["admin"])
    assert admin.delete(f"/api/v1/audit/{export_event.pk}/").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    "since", ["0142-07-13T13:15:43-22:22", "0001-01-01T00:00:00Z", "not-a-time"]
)
def test_absurd_time_filters_answer_400_not_a_database_error(since, members, api_as, trial):
    response = api_as(members["auditor"]).get("/api/v1/audit/", {"since": since})
    assert response.status_code == 400
    assert "since" in response.json()["error"]["fields"]
