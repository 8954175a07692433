"""Simulation runs and what they produce: subjects, their assessments, and run statistics.

A run is split into chunks of consecutive subject indices; each chunk is one Celery task. The
simulation draws subject i from its own random stream, so a re-delivered chunk recomputes the
same rows and its write (delete-then-insert of its index range) replaces, never duplicates.
A chunk's worker writes a heartbeat; one silent for too long is re-dispatched (tasks.py).
"""

from django.conf import settings
from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class SimulationRun(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="runs"
    )
    trial = models.ForeignKey("trials.Trial", on_delete=models.PROTECT, related_name="runs")
    spec = models.ForeignKey("trials.CohortSpec", on_delete=models.PROTECT, related_name="runs")
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    size = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    chunk_size = models.PositiveIntegerField()
    chunks_total = models.PositiveIntegerField()
    chunks_done = models.PositiveIntegerField(default=0)
    device = models.CharField(max_length=16, default="cpu")
    software_version = models.CharField(max_length=64, blank=True)
    calibration_version = models.CharField(max_length=64, blank=True)
    checkpoint_version = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["trial", "-created_at"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.trial} (spec v{self.spec.version})"

    @property
    def progress(self) -> float:
        return round(self.chunks_done / self.chunks_total, 4) if self.chunks_total else 0.0

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def audit_state(self) -> dict:
        return {
            "status": self.status,
            "size": self.size,
            "seed": self.seed,
            "spec_version": self.spec.version,
            "chunks_done": self.chunks_done,
            "error": self.error,
        }


class ChunkStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class RunChunk(models.Model):
    """Subjects [first_index, first_index + count) of a run: one `simulation` task."""

    run = models.ForeignKey(SimulationRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_index = models.PositiveIntegerField()
    count = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    compute_s = models.FloatField(null=True, blank=True)
    worker = models.CharField(
        max_length=200, blank=True, help_text="Worker (node/pid) computing it, or that last did"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last sign of life of its worker (start, then each subject); none while queued",
    )
    requeues = models.PositiveIntegerField(
        default=0, help_text="Times it was re-dispatched because its worker fell silent"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="chunk_unique")]
        # The stalled-chunk sweep: pending chunks whose heartbeat is old.
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="chunk_stall_idx")]

    def __str__(self) -> str:
        return f"chunk {self.index} of run {self.run_id}"


class Sex(models.TextChoices):
    MALE = "M"
    FEMALE = "F"


class Subject(models.Model):
    run = models.ForeignKey(SimulationRun, on_delete=models.CASCADE, related_name="subjects")
    subject_index = models.PositiveIntegerField()
    subject_id = models.CharField(max_length=32)
    age = models.FloatField(help_text="Age at diagnosis, years")
    sex = models.CharField(max_length=1, choices=Sex.choices)
    race = models.CharField(max_length=48)
    ethnicity = models.CharField(max_length=48)
    kps = models.PositiveSmallIntegerField(help_text="Karnofsky performance status")
    mgmt_methylated = models.BooleanField()
    idh_mutant = models.BooleanField()
    resection = models.CharField(max_length=16)
    regimen = models.CharField(max_length=64)
    os_months = models.FloatField()
    os_event = models.BooleanField()
    pfs_months = models.FloatField()
    pfs_event = models.BooleanField()
    best_response = models.CharField(max_length=8)
    anatomy_params = models.JSONField(default=dict)
    label_map_path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["run_id", "subject_index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "subject_index"], name="subject_index_unique"),
        ]
        indexes = [
            models.Index(fields=["run", "subject_id"]),
            models.Index(fields=["run", "sex"]),
            models.Index(fields=["run", "resection"]),
            models.Index(fields=["run", "best_response"]),
        ]

    def __str__(self) -> str:
        return self.subject_id


class Assessment(models.Model):
    """One MRI visit of a subject: tumour compartment volumes, RANO SPD and response."""

    run = models.ForeignKey(SimulationRun, on_delete=models.CASCADE, related_name="+")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="assessments")
    visit = models.PositiveIntegerField()
    day = models.IntegerField(help_text="Days since baseline")
    enhancing_ml = models.FloatField()
    necrosis_ml = models.FloatField()
    edema_ml = models.FloatField()
    spd_mm2 = models.FloatField()
    response = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["subject_id", "visit"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "visit"], name="assessment_visit_unique"),
        ]
        indexes = [models.Index(fields=["run", "subject"])]

    def __str__(self) -> str:
        return f"{self.subject_id} visit {self.visit}"


class RunStatistics(models.Model):
    """Cohort statistics, computed once when the run completes (JSON; see runs.statistics)."""

    run = models.OneToOneField(SimulationRun, on_delete=models.CASCADE, related_name="statistics")
    data = models.JSONField()
    subject_plots = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per-subject plot series (waterfall, swimmer, volume trajectories)",
    )
    computed_at = models.DateTimeField(auto_now_add=True)
    compute_s = models.FloatField()

    def __str__(self) -> str:
        return f"statistics of run {self.run_id}"
