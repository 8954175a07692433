"""Reads of runs, subjects and assessments (querysets for the API, frames for statistics)."""

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


def subject_list(*, organisation: Organisation) -> QuerySet[Subject]:
    """The organisation's subjects, without the bulky per-subject simulation inputs."""
    return (
        Subject.objects.filter(run__organisation=organisation)
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
