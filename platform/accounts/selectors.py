from django.contrib.auth.models import AbstractBaseUser

from .models import Membership


def membership_for_user(*, user: AbstractBaseUser) -> Membership | None:
    if not user or not user.is_authenticated:
        return None
    return Membership.objects.select_related("organisation").filter(user=user).first()
