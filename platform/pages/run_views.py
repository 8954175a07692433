"""Run page (live progress), cohort dashboard, bias tab and the subjects of a run."""

import time

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect

from runs.models import RunStatistics, RunStatus
from runs.selectors import run_list, subject_list, subjects_frame
from runs.statistics import (
    ENDPOINTS,
    SUBGROUP_COVARIATES,
    age_band,
    kaplan_meier,
    response_summary,
)

from .access import member_required, render_page
from .bias_text import flagged_sentences
from .labels import covariate_label, level_label

SUBJECTS_PER_PAGE = 50


def _run(request: HttpRequest, pk: int):  # noqa: ANN202
    return get_object_or_404(run_list(organisation=request.membership.organisation), pk=pk)


def _statistics(run) -> dict | None:  # noqa: ANN001
    row = RunStatistics.objects.filter(run=run).values("data").first()
    return row["data"] if row else None


@member_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    return render_page(
        request,
        "pages/run.html",
        {
            "run": run,
            "run_config": {
                "id": run.pk,
                "status": run.status,
                "size": run.size,
                "chunk_size": run.chunk_size,
                "can_cancel": request.membership.can_write,
                "dashboard_url": f"/runs/{run.pk}/dashboard/",
            },
        },
    )


@member_required
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """Table 1 and the outcome plots from the statistics stored when the run completed."""
    started = time.perf_counter()
    run = _run(request, pk)
    statistics = _statistics(run)
    other_runs = (
        run_list(organisation=request.membership.organisation)
        .filter(status=RunStatus.SUCCEEDED)
        .exclude(pk=run.pk)[:50]
    )
    response = render_page(
        request,
        "pages/dashboard.html",
        {
            "run": run,
            "statistics": statistics,
            "tab": "dashboard",
            "table_one": _table_one_rows(statistics["table_one"]) if statistics else [],
            "other_runs": other_runs,
            "dashboard_config": {
                "run": run.pk,
                "statistics": statistics,
                "series_url": f"/runs/{run.pk}/dashboard/series.json",
                "subgroup_url": f"/runs/{run.pk}/dashboard/subgroup.json",
                "subject_url": f"/runs/{run.pk}/subjects/",
            },
        },
    )
    response["Server-Timing"] = f"app;dur={1000 * (time.perf_counter() - started):.1f}"
    return response


@member_required
def dashboard_series(request: HttpRequest, pk: int) -> JsonResponse:
    """The per-subject series of the waterfall, swimmer and volume plots, as stored with the
    statistics when the run finished (`runs.statistics.subject_plots`); nothing is computed."""
    started = time.perf_counter()
    run = _run(request, pk)
    if run.status != RunStatus.SUCCEEDED:
        return JsonResponse(
            {"error": {"code": "not_ready", "message": f"The run is {run.status}."}}, status=409
        )
    plots = RunStatistics.objects.filter(run=run).values_list("subject_plots", flat=True).first()
    if not plots:
        return JsonResponse(
            {
                "error": {
                    "code": "not_stored",
                    "message": "This run finished before per-subject plots were stored with "
                    "its statistics; run the design again to see them.",
                }
            },
            status=404,
        )
    response = JsonResponse(plots)
    response["Server-Timing"] = f"app;dur={1000 * (time.perf_counter() - started):.1f}"
    return response


@member_required
def dashboard_subgroup(request: HttpRequest, pk: int) -> JsonResponse:
    """Kaplan-Meier and response of one subgroup (`?covariate=sex&level=M`), computed on demand:
    the stored statistics hold the whole cohort and the subgroup medians, not subgroup curves."""
    run = _run(request, pk)
    covariate = request.GET.get("covariate", "")
    level = request.GET.get("level", "")
    if covariate not in SUBGROUP_COVARIATES:
        return JsonResponse(
            {
                "error": {
                    "code": "invalid",
                    "message": "Unknown subgroup.",
                    "fields": {"covariate": [f"One of {', '.join(SUBGROUP_COVARIATES)}."]},
                }
            },
            status=400,
        )
    if run.status != RunStatus.SUCCEEDED:
        return JsonResponse(
            {"error": {"code": "not_ready", "message": f"The run is {run.status}."}}, status=409
        )
    frame = subjects_frame(run=run)
    frame = frame.assign(age_band=age_band(frame["age"]))
    group = frame[frame[covariate].astype(str) == level]
    if group.empty:
        return JsonResponse(
            {
                "error": {
                    "code": "empty",
                    "message": "No subject in this subgroup.",
                    "fields": {"level": ["No subject has this value."]},
                }
            },
            status=400,
        )
    horizon = float(run.spec.data.get("follow_up_months", group["os_months"].max()))
    return JsonResponse(
        {
            "covariate": covariate,
            "level": level,
            "n": len(group),
            "kaplan_meier": {
                endpoint: kaplan_meier(
                    group[duration], group[event], label=endpoint, horizon_months=horizon
                )
                for endpoint, (duration, event) in ENDPOINTS.items()
            },
            "response": response_summary(group),
        }
    )


@member_required
def bias(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    statistics = _statistics(run)
    bias_data = statistics.get("bias", {}) if statistics else {}
    return render_page(
        request,
        "pages/bias.html",
        {
            "run": run,
            "statistics": statistics,
            "tab": "bias",
            "bias": bias_data,
            "sentences": flagged_sentences(bias_data) if bias_data else [],
            "bias_config": {
                "bias": bias_data,
                "subgroups": statistics.get("subgroups", []) if statistics else [],
            },
        },
    )


@member_required
def subject_by_id(request: HttpRequest, pk: int, subject_id: str) -> HttpResponse:
    """A subject of the run named as the plots name it (``SCA-000042``): on to its viewer."""
    run = _run(request, pk)
    subject = get_object_or_404(
        subject_list(organisation=request.membership.organisation).filter(run=run),
        subject_id=subject_id,
    )
    return redirect("pages:viewer", pk=subject.pk)


@member_required
def subjects(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    queryset = subject_list(organisation=request.membership.organisation).filter(run=run)
    page = Paginator(queryset, SUBJECTS_PER_PAGE).get_page(request.GET.get("page"))
    return render_page(
        request, "pages/subjects.html", {"run": run, "page": page, "tab": "subjects"}
    )


def _table_one_rows(table: dict) -> list[dict]:
    """Table 1 as rows: a header per characteristic, then its statistic or levels."""
    rows: list[dict] = [{"label": "Subjects, n", "value": str(table.get("n", "")), "header": True}]
    for name in ("age", "kps"):
        summary = table.get(name)
        if summary:
            rows.append(
                {
                    "label": f"{covariate_label(name)}, median (IQR)",
                    "header": True,
                    "value": f"{summary['median']:.0f} ({summary['q1']:.0f}–{summary['q3']:.0f})",
                }
            )
            rows.append(
                {
                    "label": "mean (SD)",
                    "header": False,
                    "value": f"{summary['mean']:.1f} ({summary['sd'] or 0:.1f})",
                }
            )
    for name in (
        "sex",
        "race",
        "ethnicity",
        "mgmt_methylated",
        "idh_mutant",
        "resection",
        "regimen",
    ):
        levels = table.get(name)
        if not levels:
            continue
        rows.append({"label": covariate_label(name) + ", n (%)", "value": "", "header": True})
        rows.extend(
            {
                "label": level_label(level["level"]),
                "header": False,
                "value": f"{level['n']} ({level['percent']:.1f}%)",
            }
            for level in levels
        )
    return rows
