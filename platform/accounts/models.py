"""Organisations and the role each user holds in each of them.

Every domain object belongs to exactly one organisation. A user may belong to several (one
membership per organisation, each with its own role) and acts within one at a time: the
*current* membership, chosen by `accounts.current` (the session for the browser, the
``X-Organisation`` header for scripts). What they may do there is decided by that role alone.
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

    def audit_state(self) -> dict[str, str]:
        return {"name": self.name, "slug": self.slug}


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"], name="membership_one_per_organisation"
            )
        ]
        indexes = [models.Index(fields=["organisation", "role"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    def audit_state(self) -> dict[str, str | int]:
        return {
            "user": self.user.get_username(),
            "organisation": self.organisation.slug,
            "role": self.role,
        }
