from django.db.models import QuerySet

from accounts.models import Organisation

from .models import AuditEvent


def audit_event_list(*, organisation: Organisation) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organisation=organisation).order_by("-created_at", "-id")
