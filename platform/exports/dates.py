"""Synthetic calendar: every simulated day becomes an ISO 8601 date.

The simulation counts days since surgery (newly diagnosed) or enrolment (recurrent): day 0.
Exports need calendar dates, so each subject gets a synthetic reference start date:
``REFERENCE_START_DATE`` plus a per-subject offset in ``[0, ENROLMENT_WINDOW_DAYS)`` drawn from
SHA-256 of ``"<seed>:<subject_id>"``. The offset depends only on the seed and the subject's id,
so adding subjects to a cohort never moves the dates of the subjects already drawn, and the same
seed always gives the same calendar. No date in an export is a real date of a real person.
"""

from __future__ import annotations

import datetime as dt
import hashlib

__all__ = [
    "DAYS_PER_MONTH",
    "ENROLMENT_WINDOW_DAYS",
    "REFERENCE_START_DATE",
    "SAS_EPOCH",
    "iso_date",
    "months_to_days",
    "reference_start",
    "sas_date",
    "study_day",
]

#: First possible synthetic enrolment date (day 0 of the earliest subject).
REFERENCE_START_DATE = dt.date(2020, 1, 1)
#: Synthetic accrual period: day-0 dates are spread over two years.
ENROLMENT_WINDOW_DAYS = 730
#: Mean Gregorian month (365.25 / 12 days), the conversion the simulation's month outcomes use.
DAYS_PER_MONTH = 365.25 / 12.0
#: SAS dates count days since 1960-01-01 (SAS Language Reference, "SAS date value").
SAS_EPOCH = dt.date(1960, 1, 1)


def reference_start(seed: int, subject_id: str) -> dt.date:
    """The subject's synthetic day-0 date (RFSTDTC)."""
    digest = hashlib.sha256(f"{int(seed)}:{subject_id}".encode()).digest()
    offset_days = int.from_bytes(digest[:8], "big") % ENROLMENT_WINDOW_DAYS
    return REFERENCE_START_DATE + dt.timedelta(days=offset_days)


def months_to_days(months: float) -> int:
    """Whole days for a duration in months (rounded to the nearest day)."""
    return int(round(float(months) * DAYS_PER_MONTH))


def iso_date(start: dt.date, day: int) -> str:
    """ISO 8601 date of simulation ``day`` for a subject whose day 0 is ``start``."""
    return (start + dt.timedelta(days=int(day))).isoformat()


def study_day(day: int) -> int:
    """SDTM --DY of simulation ``day``, RFSTDTC at day 0: there is no study day 0 (SDTMIG 3.3)."""
    return int(day) + 1 if day >= 0 else int(day)


def sas_date(start: dt.date, day: int) -> int:
    """Numeric SAS date (days since 1960-01-01) of simulation ``day``."""
    return (start + dt.timedelta(days=int(day)) - SAS_EPOCH).days
