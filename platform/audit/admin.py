from django.contrib import admin

from core.admin import ReadOnlyModelAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """The trail is append-only for everybody, superusers included."""

    list_display = (
        "created_at",
        "organisation",
        "actor_username",
        "action",
        "object_type",
        "object_id",
        "reason",
    )
    list_filter = ("action", "object_type", "organisation")
