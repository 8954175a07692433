"""State changes of exports: request (audited, queued after commit), progress, completion, failure."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import ClientInfo, audit_record
from runs.models import RunStatus, SimulationRun

from .errors import ExportError
from .inputs import ExportOptions
from .models import Export, ExportStatus


def export_options_normalise(options: dict[str, Any] | None) -> dict[str, Any]:
    """Validate API options with the export library; errors name the option (HTTP 400)."""
    if options is not None and not isinstance(options, dict):
        raise ValidationError({"options": ["Must be an object."]})
    try:
        return ExportOptions.from_dict(options or {}).to_dict()
    except (ExportError, TypeError, ValueError) as exc:
        message = str(exc)
        field, _, reason = message.partition(": ")
        if reason and field.replace("_", "").replace(".", "").isalnum():
            raise ValidationError({f"options.{field.removeprefix('options.')}": [reason]}) from exc
        raise ValidationError({"options": [message]}) from exc


def export_request(
    *,
    run: SimulationRun,
    actor: AbstractBaseUser | None,
    options: dict[str, Any] | None = None,
    client: ClientInfo | None = None,
) -> Export:
    """Record an export of a succeeded run and queue its build once the transaction commits."""
    from .tasks import build_export_task

    if run.status != RunStatus.SUCCEEDED:
        raise ValidationError(
            {"run": [f"The run is {run.status}: only a succeeded run can be exported."]}
        )
    normalised = export_options_normalise(options)
    with transaction.atomic():
        export = Export(
            organisation=run.organisation,
            run=run,
            options=normalised,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        export.full_clean()
        export.save()
        audit_record(
            organisation=run.organisation,
            actor=actor,
            action=Action.EXPORT,
            target=export,
            after=export.audit_state(),
            client=client,
        )
        build_export_task.delay_on_commit(export.pk)
    return export


def export_mark_running(*, export_id: int) -> Export | None:
    """Claim the export for a build attempt; None when it already finished (a redelivery)."""
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export_id)
        if export.status == ExportStatus.SUCCEEDED:
            return None
        export.status = ExportStatus.RUNNING
        export.attempts += 1
        export.error = ""
        export.started_at = export.started_at or timezone.now()
        export.save(update_fields=["status", "attempts", "error", "started_at"])
        return export


def export_progress(*, export_id: int, done: int, total: int) -> None:
    Export.objects.filter(pk=export_id).update(steps_done=done, steps_total=total)


def archive_relpath(export: Export) -> str:
    return f"exports/{export.organisation_id}/{export.filename}"


def export_complete(
    *,
    export_id: int,
    path: Path,
    sha256: str,
    size_bytes: int,
    manifest: dict[str, Any],
    timings_s: dict[str, float],
) -> None:
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export_id)
        before = export.audit_state()
        export.status = ExportStatus.SUCCEEDED
        export.archive_path = str(Path(path).relative_to(settings.MEDIA_ROOT))
        export.sha256 = sha256
        export.size_bytes = size_bytes
        export.manifest = manifest
        export.timings_s = timings_s
        export.steps_done = export.steps_total
        export.finished_at = timezone.now()
        export.save()
        audit_record(
            organisation=export.organisation,
            actor=None,
            action=Action.COMPLETE,
            target=export,
            before=before,
            after=export.audit_state(),
        )


def export_fail(*, export_id: int, reason: str) -> None:
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export_id)
        if export.status == ExportStatus.SUCCEEDED:
            return
        before = export.audit_state()
        export.status = ExportStatus.FAILED
        export.error = reason[:4000]
        export.finished_at = timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
        audit_record(
            organisation=export.organisation,
            actor=None,
            action=Action.FAIL,
            target=export,
            before=before,
            after=export.audit_state(),
        )
