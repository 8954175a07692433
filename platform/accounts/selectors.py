from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import Membership


def memberships_of(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    """The user's memberships, by organisation name (the switcher's order and the default)."""
    if not user or not user.is_authenticated:
        return Membership.objects.none()
    return (
        Membership.objects.select_related("organisation")
        .filter(user=user)
        .order_by("organisation__name")
    )
