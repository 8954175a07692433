"""The append-only audit trail: who changed what, when (UTC), why, and from which client.

Append-only twice over: the model refuses updates and deletes (instance and queryset), and on
PostgreSQL a trigger (migration 0002) rejects UPDATE and DELETE on the table for any client.
"""

from django.conf import settings
from django.db import models


class AuditTrailIsAppendOnly(Exception):
    """Raised on any attempt to change or remove an audit event."""


class Action(models.TextChoices):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LAUNCH = "launch"
    CANCEL = "cancel"
    FAIL = "fail"
    COMPLETE = "complete"
    EXPORT = "export"
    RENDER = "render"
    VIEW = "view"
    DOWNLOAD = "download"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    SIGN_IN_FAILED = "sign_in_failed"
    LOCKOUT = "lockout"
    PASSWORD_CHANGE = "password_change"
    TOKEN_CREATE = "token_create"
    TOKEN_REVOKE = "token_revoke"
    ANNOTATE = "annotate"
    SIGN_OFF = "sign_off"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ANN003, ANN201
        raise AuditTrailIsAppendOnly("audit events cannot be updated")

    def delete(self):  # noqa: ANN201
        raise AuditTrailIsAppendOnly("audit events cannot be deleted")

    # bulk_update goes through update(); bulk_create appends and stays allowed.


class AuditEvent(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)  # survives account renames
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    client_user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["organisation", "object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%dT%H:%M:%SZ} {self.actor_username} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        if self.pk is not None:
            raise AuditTrailIsAppendOnly("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        raise AuditTrailIsAppendOnly("audit events cannot be deleted")
