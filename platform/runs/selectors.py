"""Reads of runs, subjects and assessments (querysets for the API, frames for statistics)."""

from collections.abc import Iterable

import pandas as pd
from django.db.models import QuerySet

from accounts.models import Organisation

from .models import Assessment, SimulationRun, Subject
from .services import ASSESSMENT_COLUMNS, SUBJECT_COLUMNS


def run_list(*, organisation: Organisation) -> QuerySet[SimulationRun]:
    return (
        SimulationRun.objects.filter(organisation=organisation)
        .select_related("spec", "trial")
        .order_by("-created_at", "-id")
    )


def run_detail(*, organisation: Organisation, run_id: str | int) -> SimulationRun | None:
    """The organisation's run ``run_id`` (a URL value: anything not an id finds nothing), with
    its spec's version but not the spec's data."""
    if not str(run_id).isdigit() or len(str(run_id)) > 18:
        return None
    return (
        SimulationRun.objects.filter(pk=int(run_id), organisation=organisation)
        .select_related("spec")
        .defer("spec__data")
        .first()
    )


def subject_list(*, organisation: Organisation) -> QuerySet[Subject]:
    """The organisation's subjects, without the bulky per-subject simulation inputs."""
    return (
        Subject.objects.filter(run__organisation=organisation)
        .defer("anatomy_params", "label_map_path")
        .order_by("run_id", "subject_index")
    )


#: The API's subject representation (`SubjectSerializer`'s keys, in order) and its columns.
SUBJECT_API_KEYS = ("id", "run", *SUBJECT_COLUMNS)
_SUBJECT_API_COLUMNS = ("id", "run_id", *SUBJECT_COLUMNS)


def subject_rows(queryset: QuerySet[Subject]) -> QuerySet:
    """Tuples of `_SUBJECT_API_COLUMNS`: turn a page of them into dicts with `subject_dicts`."""
    return queryset.values_list(*_SUBJECT_API_COLUMNS)


def subject_dicts(rows: Iterable[tuple]) -> list[dict]:
    return [dict(zip(SUBJECT_API_KEYS, row, strict=True)) for row in rows]


def run_cache_row(*, organisation: Organisation, run_id: str | None) -> dict | None:
    """``{id, status, finished_at}`` of the organisation's run ``run_id`` (a query-string
    value), or None when it is not one of theirs or not an id."""
    if not run_id or not run_id.isdigit() or len(run_id) > 18:
        return None
    return (
        SimulationRun.objects.filter(pk=int(run_id), organisation=organisation)
        .values("id", "status", "finished_at")
        .first()
    )


def run_subject_list(*, run_id: int) -> QuerySet[Subject]:
    """`subject_list` of one run already known to be the organisation's."""
    return (
        Subject.objects.filter(run_id=run_id)
        .defer("anatomy_params", "label_map_path")
        .order_by("run_id", "subject_index")
    )


def assessment_list(*, subject: Subject) -> QuerySet[Assessment]:
    return Assessment.objects.filter(subject=subject).order_by("visit")


def subjects_frame(*, run: SimulationRun) -> pd.DataFrame:
    rows = Subject.objects.filter(run=run).order_by("subject_index").values_list(*SUBJECT_COLUMNS)
    return pd.DataFrame.from_records(list(rows), columns=list(SUBJECT_COLUMNS))


def assessments_frame(*, run: SimulationRun) -> pd.DataFrame:
    columns = ["subject__subject_id", *ASSESSMENT_COLUMNS[1:]]
    rows = (
        Assessment.objects.filter(run=run)
        .order_by("subject__subject_index", "visit")
        .values_list(*columns)
    )
    return pd.DataFrame.from_records(list(rows), columns=list(ASSESSMENT_COLUMNS))
