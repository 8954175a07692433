"""Exports of the organisation's runs: request one, follow its status, download it."""

from django.http import HttpRequest, HttpResponse

from exports import ALL_DATASETS
from exports.selectors import export_list
from runs.models import RunStatus
from runs.selectors import run_list

from .access import member_required, render_page

SEQUENCE_LABELS = (("t1n", "T1"), ("t1c", "T1-Gd"), ("t2w", "T2"), ("t2f", "FLAIR"))


@member_required
def exports_index(request: HttpRequest) -> HttpResponse:
    organisation = request.membership.organisation
    runs = run_list(organisation=organisation).filter(status=RunStatus.SUCCEEDED)
    return render_page(
        request,
        "pages/exports.html",
        {
            "exports": list(export_list(organisation=organisation)[:200]),
            "runs": list(runs.select_related("trial", "spec")[:50]),
            "can_write": request.membership.can_write,
            "datasets": ALL_DATASETS,
            "sequences": SEQUENCE_LABELS,
        },
    )
