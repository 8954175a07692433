"""Organisations and the role each user holds in one.

Every domain object belongs to exactly one organisation; a user belongs to at most one (the
membership), and what they may do there is decided by the role alone.
"""

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    DESIGNER = "designer", "Trial designer"
    AUDITOR = "auditor", "Auditor (read-only)"
    ADMIN = "admin", "Organisation administrator"


#: Roles that may create, change, launch and cancel. Auditors read everything and change nothing.
WRITE_ROLES = frozenset({Role.DESIGNER, Role.ADMIN})


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "role"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES
