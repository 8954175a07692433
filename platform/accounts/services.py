"""Organisations and memberships (changed by admins, the Django admin site and `seed_demo`).

Every change is audited here, in the transaction that makes it, in the organisation concerned.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from audit.models import Action
from audit.services import ClientInfo, audit_record

from .models import Membership, Organisation


def organisation_create(
    *,
    name: str,
    slug: str = "",
    actor: AbstractBaseUser | None = None,
    client: ClientInfo | None = None,
) -> Organisation:
    with transaction.atomic():
        organisation = Organisation(name=name, slug=slug or slugify(name)[:80])
        organisation.full_clean()
        organisation.save()
        audit_record(
            organisation=organisation,
            actor=actor,
            action=Action.CREATE,
            target=organisation,
            after=organisation.audit_state(),
            client=client,
        )
    return organisation


def organisation_update(
    *,
    organisation: Organisation,
    changes: dict[str, str],
    actor: AbstractBaseUser | None = None,
    client: ClientInfo | None = None,
) -> Organisation:
    """Rename an organisation or change its slug (scripts using the slug must follow)."""
    unknown = set(changes) - {"name", "slug"}
    if unknown:
        raise ValidationError({field: "This field cannot be changed." for field in unknown})
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
        before = organisation.audit_state()
        for field, value in changes.items():
            setattr(organisation, field, value)
        organisation.full_clean()
        if organisation.audit_state() == before:
            return organisation
        organisation.save(update_fields=list(changes))
        audit_record(
            organisation=organisation,
            actor=actor,
            action=Action.UPDATE,
            target=organisation,
            before=before,
            after=organisation.audit_state(),
            client=client,
        )
    return organisation


def member_create(
    *,
    organisation: Organisation,
    username: str,
    password: str,
    role: str,
    email: str = "",
    actor: AbstractBaseUser | None = None,
    client: ClientInfo | None = None,
) -> Membership:
    """Create a user and their membership (one transaction, audited)."""
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model(username=username, email=email)
        user.set_password(password)
        user.full_clean()
        user.save()
        membership = Membership(user=user, organisation=organisation, role=role)
        membership.full_clean()
        membership.save()
        audit_record(
            organisation=organisation,
            actor=actor,
            action=Action.CREATE,
            target=membership,
            after={"username": username, "role": role},
            client=client,
        )
    return membership


def membership_set(
    *,
    user: AbstractBaseUser,
    organisation: Organisation,
    role: str,
    actor: AbstractBaseUser | None = None,
    client: ClientInfo | None = None,
) -> Membership:
    """Give a user a role in an organisation, or change the role they hold there (audited).
    Their memberships of other organisations are untouched."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .filter(user=user, organisation=organisation)
            .first()
        )
        before = membership.audit_state() if membership else None
        if membership is None:
            membership = Membership(user=user, organisation=organisation, role=role)
        else:
            membership.role = role
        membership.full_clean()
        if before is not None and membership.audit_state() == before:
            return membership
        membership.save()
        audit_record(
            organisation=organisation,
            actor=actor,
            action=Action.UPDATE if before else Action.CREATE,
            target=membership,
            before=before,
            after=membership.audit_state(),
            client=client,
        )
    return membership


def membership_delete(
    *,
    membership: Membership,
    actor: AbstractBaseUser | None = None,
    client: ClientInfo | None = None,
) -> None:
    """Take a user's role in one organisation away (audited; the user account stays)."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .select_related("user", "organisation")
            .get(pk=membership.pk)
        )
        audit_record(
            organisation=membership.organisation,
            actor=actor,
            action=Action.DELETE,
            target=membership,
            before=membership.audit_state(),
            client=client,
        )
        membership.delete()


def membership_switch(
    *,
    user: AbstractBaseUser,
    membership: Membership,
    previous: Membership | None,
    client: ClientInfo | None = None,
) -> None:
    """Record that ``user`` now acts within ``membership``'s organisation (the browser's
    switcher). Audited in the organisation switched into, whose auditors see who came in."""
    if membership.user_id != user.pk:
        raise ValidationError({"organisation": "You are not a member of this organisation."})
    with transaction.atomic():
        audit_record(
            organisation=membership.organisation,
            actor=user,
            action=Action.UPDATE,
            target=membership,
            before={"current_organisation": previous.organisation.slug if previous else None},
            after={"current_organisation": membership.organisation.slug, "role": membership.role},
            reason="organisation switch",
            client=client,
        )
