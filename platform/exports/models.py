"""Export jobs: one archive of one succeeded run, built by a Celery task on the `exports` queue.

The archive is written to a temporary file and renamed into place by `build_export`; the row is
marked `succeeded` only after that rename, so an archive is never marked complete half-written.
"""

from django.conf import settings
from django.db import models


class ExportStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Export(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="exports"
    )
    run = models.ForeignKey("runs.SimulationRun", on_delete=models.PROTECT, related_name="exports")
    options = models.JSONField(help_text="Normalised ExportOptions")
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    steps_done = models.PositiveIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    archive_path = models.CharField(max_length=300, blank=True, help_text="Relative to MEDIA_ROOT")
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    timings_s = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["run", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} of run {self.run_id}"

    @property
    def progress(self) -> float:
        return round(self.steps_done / self.steps_total, 4) if self.steps_total else 0.0

    @property
    def filename(self) -> str:
        return f"sca-run{self.run_id}-export{self.pk}.zip"

    def audit_state(self) -> dict:
        return {
            "run": self.run_id,
            "status": self.status,
            "options": self.options,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "error": self.error,
        }
