"""Trials list, trial page and the cohort designer."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from audit.services import ClientInfo
from runs.selectors import run_list
from trials.models import Phase
from trials.selectors import spec_list, trial_list
from trials.services import trial_create

from .access import READ_ONLY_MESSAGE, member_required, refusal, render_page, writer_required
from .presets import DEFAULT_SEED, DEFAULT_SIZE, preset_specs
from .spec_form import regimen_catalogue, spec_schema


@member_required
def trials_index(request: HttpRequest) -> HttpResponse:
    organisation = request.membership.organisation
    errors: dict[str, list[str]] = {}
    values = {"name": "", "phase": Phase.PHASE_3, "description": ""}
    if request.method == "POST":
        if not request.membership.can_write:
            return refusal(request, READ_ONLY_MESSAGE)
        values = {key: request.POST.get(key, "").strip() for key in values}
        try:
            trial = trial_create(
                organisation=organisation,
                actor=request.user,
                name=values["name"],
                phase=values["phase"] or Phase.PHASE_3,
                description=values["description"],
                client=ClientInfo.from_request(request),
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"name": exc.messages}
        else:
            return redirect("pages:trial", pk=trial.pk)
    trials = trial_list(organisation=organisation).prefetch_related("specs", "runs")
    rows = [{"trial": t, "versions": len(t.specs.all()), "runs": len(t.runs.all())} for t in trials]
    return render_page(
        request,
        "pages/trials.html",
        {
            "rows": rows,
            "errors": errors,
            "values": values,
            "phases": Phase.choices,
        },
        status=400 if errors else 200,
    )


@member_required
def trial_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = request.membership.organisation
    trial = get_object_or_404(trial_list(organisation=organisation), pk=pk)
    specs = spec_list(organisation=organisation).filter(trial=trial)
    runs = run_list(organisation=organisation).filter(trial=trial)
    return render_page(request, "pages/trial.html", {"trial": trial, "specs": specs, "runs": runs})


@writer_required
def designer(request: HttpRequest, pk: int) -> HttpResponse:
    """The cohort designer: a new spec version of the trial, or an edit of `?spec=<id>`."""
    organisation = request.membership.organisation
    trial = get_object_or_404(trial_list(organisation=organisation), pk=pk)
    spec = None
    if request.GET.get("spec"):
        spec = get_object_or_404(
            spec_list(organisation=organisation).filter(trial=trial), pk=request.GET["spec"]
        )
    initial = spec.data if spec else preset_specs(size=DEFAULT_SIZE, seed=DEFAULT_SEED)[0]["spec"]
    return render_page(
        request,
        "pages/designer.html",
        {
            "trial": trial,
            "spec": spec,
            "designer_config": {
                "trial": trial.pk,
                "spec": spec.pk if spec else None,
                "spec_version": spec.version if spec else None,
                "frozen": bool(spec and spec.is_frozen),
                "initial": initial,
                "schema": spec_schema(),
                "presets": preset_specs(),
                "regimens": regimen_catalogue(),
                "trial_url": f"/trials/{trial.pk}/",
            },
        },
    )
