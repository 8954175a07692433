"""Per-subject timeline shared by SDTM and ADaM: identifiers, day 0 date, event days.

One place converts the simulation's outcomes to days (its ``os_day``/``pfs_day`` columns
when present, else ``os_months``/``pfs_months`` x 365.25/12) and assigns calendar dates, so DM,
DS, RS, ADSL and ADTTE can never disagree about when something happened.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .dates import iso_date, months_to_days, reference_start
from .inputs import RunExportData

__all__ = ["SubjectTimeline", "build_timelines", "follow_up_days", "visit_name"]


@dataclass(frozen=True)
class SubjectTimeline:
    """One subject: ids, synthetic day-0 date and outcome days (days since day 0)."""

    subject_id: str
    usubjid: str
    start: dt.date
    os_day: int
    os_event: bool
    pfs_day: int
    pfs_event: bool
    row: dict[str, Any]
    assessments: pd.DataFrame

    def date(self, day: int) -> str:
        return iso_date(self.start, day)


def follow_up_days(spec: dict[str, Any]) -> int | None:
    """Planned follow-up in days (``spec['follow_up_months']``), None when the spec has none."""
    months = spec.get("follow_up_months")
    return None if months is None else months_to_days(float(months))


def visit_name(visit: int) -> str:
    """SDTM VISIT for a visit number: 0 is the post-operative baseline scan."""
    return "BASELINE" if int(visit) == 0 else f"VISIT {int(visit)}"


def _day(row: dict[str, Any], day_column: str, months_column: str) -> int:
    """The simulation's own day count when it provides one (``os_day``), else months -> days."""
    value = row.get(day_column)
    if value is not None and not pd.isna(value):
        return int(value)
    return months_to_days(row[months_column])


def build_timelines(data: RunExportData, study_id: str) -> list[SubjectTimeline]:
    """Timelines sorted by subject_id (the export's row order everywhere)."""
    subjects = data.subjects.sort_values("subject_id", kind="stable")
    by_subject = {
        subject_id: frame.sort_values("visit", kind="stable").reset_index(drop=True)
        for subject_id, frame in data.assessments.groupby("subject_id", sort=True)
    }
    empty = data.assessments.iloc[0:0]
    timelines: list[SubjectTimeline] = []
    for row in subjects.to_dict("records"):
        subject_id = str(row["subject_id"])
        os_day = _day(row, "os_day", "os_months")
        pfs_day = min(_day(row, "pfs_day", "pfs_months"), os_day)
        timelines.append(
            SubjectTimeline(
                subject_id=subject_id,
                usubjid=f"{study_id}-{subject_id}",
                start=reference_start(int(data.seed), subject_id),
                os_day=os_day,
                os_event=bool(int(row["os_event"])),
                pfs_day=pfs_day,
                pfs_event=bool(int(row["pfs_event"])),
                row=row,
                assessments=by_subject.get(subject_id, empty),
            )
        )
    return timelines
