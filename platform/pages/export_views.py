"""Exports of the organisation's runs: what exists, its status and its download."""

from django.apps import apps
from django.http import HttpRequest, HttpResponse

from runs.models import RunStatus
from runs.selectors import run_list

from .access import member_required, render_page


def _export_rows(organisation) -> tuple[list, bool]:  # noqa: ANN001
    """The organisation's export jobs, when the exports app provides them."""
    if not apps.is_installed("exports"):
        return [], False
    try:
        Export = apps.get_model("exports", "Export")  # noqa: N806
    except LookupError:
        return [], False
    queryset = Export.objects.all()
    if hasattr(Export, "organisation"):
        queryset = queryset.filter(organisation=organisation)
    else:
        queryset = queryset.filter(run__organisation=organisation)
    return list(queryset.order_by("-id")[:200]), True


@member_required
def exports_index(request: HttpRequest) -> HttpResponse:
    organisation = request.membership.organisation
    exports, available = _export_rows(organisation)
    runs = run_list(organisation=organisation).filter(status=RunStatus.SUCCEEDED)[:50]
    return render_page(
        request,
        "pages/exports.html",
        {
            "exports": exports,
            "exports_available": available,
            "runs": runs,
        },
    )
