"""Trials and their cohort specs.

A spec is a versioned JSON document validated by the simulation's schema. Once a run used a
version it is frozen: an edit then makes a new version, and says why (`reason`).
"""

from django.conf import settings
from django.db import models


class Phase(models.TextChoices):
    PHASE_1 = "1", "Phase I"
    PHASE_2 = "2", "Phase II"
    PHASE_3 = "3", "Phase III"
    PHASE_4 = "4", "Phase IV"
    NOT_APPLICABLE = "na", "Not applicable"


class Trial(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="trials"
    )
    name = models.CharField(max_length=200)
    indication = models.CharField(max_length=200, default="Glioblastoma, newly diagnosed")
    phase = models.CharField(max_length=4, choices=Phase.choices, default=Phase.PHASE_3)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="trial_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def audit_state(self) -> dict:
        return {
            "name": self.name,
            "indication": self.indication,
            "phase": self.phase,
            "description": self.description,
        }


class CohortSpec(models.Model):
    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="specs")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    reason = models.TextField(blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["trial_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "version"], name="spec_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.trial} spec v{self.version}"

    @property
    def organisation_id(self) -> int:
        return self.trial.organisation_id

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None
