"""The audit trail for auditors (and everyone in the organisation): filters, pages, CSV."""

import datetime as dt
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from audit.models import Action
from audit.selectors import audit_event_list

from .access import member_required, render_page

EVENTS_PER_PAGE = 50
FILTER_FIELDS = ("actor", "object_type", "object_id", "action", "since", "until")


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _filtered(events: QuerySet, values: dict[str, str]) -> tuple[QuerySet, dict[str, str]]:
    errors: dict[str, str] = {}
    if values["actor"]:
        events = events.filter(actor_username=values["actor"])
    if values["object_type"]:
        events = events.filter(object_type=values["object_type"])
    if values["object_id"]:
        events = events.filter(object_id=values["object_id"])
    if values["action"]:
        if values["action"] in Action.values:
            events = events.filter(action=values["action"])
        else:
            errors["action"] = f"Unknown action {values['action']!r}."
    for key, lookup, shift in (("since", "gte", 0), ("until", "lt", 1)):
        if values[key]:
            day = _date(values[key])
            if day is None:
                errors[key] = "Use a date like 2026-01-31."
                continue
            moment = dt.datetime.combine(day + dt.timedelta(days=shift), dt.time(), tzinfo=dt.UTC)
            events = events.filter(**{f"created_at__{lookup}": moment})
    return events, errors


def _export_query(values: dict[str, str]) -> str:
    """The same filters in the API's vocabulary (ISO date-times in UTC for the dates)."""
    params = {k: values[k] for k in ("actor", "object_type", "object_id", "action") if values[k]}
    for key, shift in (("since", 0), ("until", 1)):
        day = _date(values[key]) if values[key] else None
        if day:
            params[key] = f"{day + dt.timedelta(days=shift)}T00:00:00Z"
    return urlencode(params)


@member_required
def audit_log(request: HttpRequest) -> HttpResponse:
    organisation = request.membership.organisation
    values = {key: request.GET.get(key, "").strip() for key in FILTER_FIELDS}
    all_events = audit_event_list(organisation=organisation)
    events, errors = _filtered(all_events, values)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in values.items() if v})
    return render_page(
        request,
        "pages/audit.html",
        {
            "page": page,
            "values": values,
            "errors": errors,
            "actions": Action.choices,
            "object_types": sorted(
                set(all_events.values_list("object_type", flat=True).distinct())
            ),
            "actors": sorted(set(all_events.values_list("actor_username", flat=True).distinct())),
            "query": query,
            "csv_url": "/api/v1/audit/export/?" + _export_query(values),
        },
        status=400 if errors else 200,
    )
