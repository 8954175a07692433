"""Organisations and memberships (created by admins and by `seed_demo`)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from audit.models import Action
from audit.services import ClientInfo, audit_record

from .models import Membership, Organisation


def organisation_create(*, name: str, slug: str = "") -> Organisation:
    organisation = Organisation(name=name, slug=slug or slugify(name)[:80])
    organisation.full_clean()
    organisation.save()
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
    """Give an existing user a role in an organisation (or change it), audited."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(user=user).first()
        before = (
            {"organisation": membership.organisation_id, "role": membership.role}
            if membership
            else None
        )
        if membership is None:
            membership = Membership(user=user, organisation=organisation, role=role)
        else:
            membership.organisation, membership.role = organisation, role
        membership.full_clean()
        membership.save()
        audit_record(
            organisation=organisation,
            actor=actor,
            action=Action.UPDATE if before else Action.CREATE,
            target=membership,
            before=before,
            after={"organisation": organisation.pk, "role": role},
            client=client,
        )
    return membership
