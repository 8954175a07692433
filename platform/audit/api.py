"""The audit trail, read-only: browse (paginated, filtered) and export as CSV."""

import csv
import datetime
import io
import json

import django_filters
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts.api_support import OrganisationScopedMixin

from .models import Action, AuditEvent
from .selectors import audit_event_list
from .services import audit_record

CSV_COLUMNS = (
    "id",
    "created_at",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "reason",
    "client_ip",
    "client_user_agent",
    "before",
    "after",
)
CSV_MAX_ROWS = 100_000


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "created_at",
            "actor_username",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "reason",
            "client_ip",
            "client_user_agent",
        )


#: UTC offsets in use on Earth span -12:00..+14:00; PostgreSQL refuses beyond about ±16 h.
MAX_UTC_OFFSET = datetime.timedelta(hours=14)
EARLIEST_YEAR, LATEST_YEAR = 1900, 9998


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time with a real-world offset and year (else 400, never a database error)."""

    def __init__(self, *args, param: str, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.param = param

    def filter(self, qs, value):  # noqa: ANN001, ANN201
        if value is not None:
            offset = value.utcoffset()
            if offset is not None and abs(offset) > MAX_UTC_OFFSET:
                raise ValidationError({self.param: ["UTC offset out of range."]})
            if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
                raise ValidationError(
                    {self.param: [f"Year must be between {EARLIEST_YEAR} and {LATEST_YEAR}."]}
                )
        return super().filter(qs, value)


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=Action.choices)
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor_username")
    since = BoundedIsoDateTimeFilter(param="since", field_name="created_at", lookup_expr="gte")
    until = BoundedIsoDateTimeFilter(param="until", field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields: list[str] = []


class AuditEventViewSet(
    OrganisationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = AuditEvent.objects.none()  # for the schema; get_queryset scopes
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter

    def get_queryset(self):  # noqa: ANN201
        return audit_event_list(organisation=self.organisation)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}, filters=True)
    @action(detail=False, methods=["get"], url_path="export", url_name="export")
    def export(self, request: Request) -> HttpResponse:
        """The filtered audit trail as CSV (UTC times); the export itself is audited."""
        events = self.filter_queryset(self.get_queryset())[:CSV_MAX_ROWS]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        count = 0
        for event in events:
            count += 1
            writer.writerow(
                [
                    event.pk,
                    event.created_at.isoformat(),
                    event.actor_username,
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.object_repr,
                    event.reason,
                    event.client_ip or "",
                    event.client_user_agent,
                    json.dumps(event.before, sort_keys=True),
                    json.dumps(event.after, sort_keys=True),
                ]
            )
        membership = request.membership
        with transaction.atomic():
            audit_record(
                organisation=self.organisation,
                actor=request.user,
                action=Action.EXPORT,
                target=membership.organisation,
                after={
                    "what": "audit_trail_csv",
                    "rows": count,
                    "filters": dict(sorted(request.query_params.items())),
                },
                client=self.client,
            )
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
        return response
