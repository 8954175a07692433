from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only for everybody, superusers included."""

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

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
