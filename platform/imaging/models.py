"""MR volumes of a subject's visit: rendered on first request, cached on MEDIA_ROOT.

A volume is a deterministic function of (subject, visit, sequence, engine + version, seed), so
the row records where the cached file lies and its SHA-256; nothing is rendered up front.
"""

from django.db import models


class Sequence(models.TextChoices):
    T1N = "t1n", "T1 native"
    T1C = "t1c", "T1 contrast-enhanced"
    T2W = "t2w", "T2-weighted"
    T2F = "t2f", "T2-FLAIR"
    SEG = "seg", "Segmentation (BraTS labels)"


class Engine(models.TextChoices):
    PHYSICS = "physics", "Physics (CPU)"
    BRAING3N = "braing3n", "BrainG3N (neural, GPU)"


#: The Celery queue that renders each engine's volumes.
ENGINE_QUEUES = {Engine.PHYSICS: "render", Engine.BRAING3N: "braing3n"}


class VolumeStatus(models.TextChoices):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class Volume(models.Model):
    subject = models.ForeignKey("runs.Subject", on_delete=models.CASCADE, related_name="volumes")
    visit = models.PositiveIntegerField()
    sequence = models.CharField(max_length=8, choices=Sequence.choices)
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.PHYSICS)
    status = models.CharField(
        max_length=16, choices=VolumeStatus.choices, default=VolumeStatus.PENDING
    )
    path = models.CharField(max_length=300, blank=True, help_text="Relative to MEDIA_ROOT")
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subject_id", "visit", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "visit", "sequence", "engine"], name="volume_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_id} visit {self.visit} {self.sequence} ({self.engine})"

    @property
    def is_rendered(self) -> bool:
        return self.status == VolumeStatus.READY
