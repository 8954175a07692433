"""Changes to trials and cohort specs: one transaction each, with its audit event."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from accounts.models import Organisation
from audit.models import Action
from audit.services import ClientInfo, audit_record

from .models import CohortSpec, Trial
from .spec_validation import spec_normalise

TRIAL_EDITABLE_FIELDS = ("name", "indication", "phase", "description")


def trial_create(
    *,
    organisation: Organisation,
    actor: AbstractBaseUser | None,
    name: str,
    indication: str = "Glioblastoma, newly diagnosed",
    phase: str = "3",
    description: str = "",
    client: ClientInfo | None = None,
) -> Trial:
    trial = Trial(
        organisation=organisation,
        name=name,
        indication=indication,
        phase=phase,
        description=description,
        created_by=actor if actor and actor.is_authenticated else None,
    )
    trial.full_clean()
    with transaction.atomic():
        trial.save()
        audit_record(
            organisation=organisation,
            actor=actor,
            action=Action.CREATE,
            target=trial,
            after=trial.audit_state(),
            client=client,
        )
    return trial


def trial_update(
    *,
    trial: Trial,
    actor: AbstractBaseUser | None,
    changes: dict[str, Any],
    reason: str = "",
    client: ClientInfo | None = None,
) -> Trial:
    unknown = set(changes) - set(TRIAL_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in sorted(unknown)})
    with transaction.atomic():
        trial = Trial.objects.select_for_update().get(pk=trial.pk)
        before = trial.audit_state()
        for name, value in changes.items():
            setattr(trial, name, value)
        trial.full_clean()
        trial.save()
        audit_record(
            organisation=trial.organisation,
            actor=actor,
            action=Action.UPDATE,
            target=trial,
            before=before,
            after=trial.audit_state(),
            reason=reason,
            client=client,
        )
    return trial


def trial_delete(
    *,
    trial: Trial,
    actor: AbstractBaseUser | None,
    reason: str = "",
    client: ClientInfo | None = None,
) -> None:
    """Delete a trial that never ran; a trial with runs is evidence and stays."""
    if trial.runs.exists():
        raise ValidationError({"trial": ["A trial with runs cannot be deleted."]})
    with transaction.atomic():
        audit_record(
            organisation=trial.organisation,
            actor=actor,
            action=Action.DELETE,
            target=trial,
            before=trial.audit_state(),
            reason=reason,
            client=client,
        )
        trial.delete()


def spec_create(
    *,
    trial: Trial,
    actor: AbstractBaseUser | None,
    data: Any,
    reason: str = "",
    client: ClientInfo | None = None,
) -> CohortSpec:
    """Add the next version of the trial's spec (validated and stored in canonical form)."""
    canonical = spec_normalise(data)
    with transaction.atomic():
        Trial.objects.select_for_update().filter(pk=trial.pk).first()  # serialises versioning
        latest = trial.specs.aggregate(latest=Max("version"))["latest"] or 0
        spec = CohortSpec(
            trial=trial,
            version=latest + 1,
            data=canonical,
            reason=reason,
            created_by=actor if actor and actor.is_authenticated else None,
        )
        spec.full_clean()
        spec.save()
        audit_record(
            organisation=trial.organisation,
            actor=actor,
            action=Action.CREATE,
            target=spec,
            after={"version": spec.version, "data": canonical},
            reason=reason,
            client=client,
        )
    return spec


def spec_update(
    *,
    spec: CohortSpec,
    actor: AbstractBaseUser | None,
    data: Any,
    reason: str = "",
    client: ClientInfo | None = None,
) -> CohortSpec:
    """Edit a spec: in place while no run used it; otherwise a new version, with a reason."""
    canonical = spec_normalise(data)
    if spec.is_frozen:
        if not reason.strip():
            raise ValidationError(
                {
                    "reason": [
                        f"Version {spec.version} was used by a run and is frozen: "
                        "a new version needs a reason."
                    ]
                }
            )
        return spec_create(
            trial=spec.trial, actor=actor, data=canonical, reason=reason, client=client
        )
    with transaction.atomic():
        spec = CohortSpec.objects.select_for_update().get(pk=spec.pk)
        if spec.is_frozen:  # a run froze it meanwhile
            raise ValidationError({"reason": ["This version was frozen meanwhile; retry."]})
        before = {"version": spec.version, "data": spec.data}
        spec.data = canonical
        spec.reason = reason or spec.reason
        spec.full_clean()
        spec.save(update_fields=["data", "reason"])
        audit_record(
            organisation=spec.trial.organisation,
            actor=actor,
            action=Action.UPDATE,
            target=spec,
            before=before,
            after={"version": spec.version, "data": canonical},
            reason=reason,
            client=client,
        )
    return spec
