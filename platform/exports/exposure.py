"""Exposure records (SDTM EX) from a regimen name and a subject's timeline.

The schedules are the simulation's own (``simulation.regimens.REGIMENS``: Stupp 2005 RT + TMZ,
RT alone, lomustine 110 mg/m2 q6w per EORTC 26101, bevacizumab 10 mg/kg q2w), so the export shows
exactly the doses the simulated tumours received. Rules:

- every treatment stops at death or end of follow-up (the OS day);
- drugs stop at progression (doses only on days before the PFS event day); radiotherapy, a fixed
  six-week course, is completed unless the subject dies;
- consecutive daily doses of the same amount form one EX record (EXDOSFRQ ``QD``); a single dose
  is one record (``ONCE``). Radiotherapy (60 Gy as 30 x 2 Gy on weekdays) is thus one record
  per treatment week. SDTMIG would also accept RT in PR; EX keeps all of the regimen in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ExportError

__all__ = ["DoseRecord", "ROUTES", "dose_records"]

#: Route per drug (product labels: temozolomide and lomustine capsules, bevacizumab IV infusion).
ROUTES: dict[str, str] = {
    "temozolomide": "ORAL",
    "lomustine": "ORAL",
    "bevacizumab": "INTRAVENOUS",
}


@dataclass(frozen=True)
class DoseRecord:
    """One EX record: a treatment given at a constant dose on consecutive days."""

    treatment: str
    dose: float
    dose_unit: str
    route: str
    start_day: int
    end_day: int

    @property
    def frequency(self) -> str:
        return "ONCE" if self.start_day == self.end_day else "QD"


def _runs(days: list[int]) -> list[tuple[int, int]]:
    """Group sorted days into runs of consecutive days."""
    runs: list[tuple[int, int]] = []
    for day in days:
        if runs and day == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def dose_records(
    regimen_name: str, *, last_day: int, progression_day: int | None
) -> list[DoseRecord]:
    """EX records for ``regimen_name`` truncated at ``last_day`` and (drugs) at progression."""
    try:
        from simulation.regimens import REGIMENS
    except ImportError as error:  # pragma: no cover - the simulation package ships with us
        raise ExportError(f"regimen: simulation.regimens is not importable ({error})") from error
    regimen = REGIMENS.get(regimen_name)
    if regimen is None:
        raise ExportError(
            f"subjects.regimen: unknown regimen {regimen_name!r} "
            f"(known: {', '.join(sorted(REGIMENS))})"
        )
    records: list[DoseRecord] = []
    if regimen.radiotherapy is not None:
        rt = regimen.radiotherapy
        days = [day for day in rt.fraction_days() if day <= last_day]
        for start, end in _runs(days):
            records.append(
                DoseRecord("RADIOTHERAPY", rt.dose_per_fraction_gy, "Gy", "", start, end)
            )
    drug_last_day = last_day if progression_day is None else min(last_day, progression_day - 1)
    for schedule in regimen.drugs:
        if schedule.cycles is None:
            end_day = drug_last_day
        else:
            end_day = min(drug_last_day, schedule.start_day + schedule.cycles * schedule.cycle_days)
        days = [day for day in range(schedule.start_day, end_day + 1) if schedule.dose_on(day) > 0]
        route = ROUTES.get(schedule.drug, "")
        for start, end in _runs(days):
            records.append(
                DoseRecord(
                    schedule.drug.upper(), schedule.dose, schedule.dose_unit, route, start, end
                )
            )
    records.sort(key=lambda record: (record.start_day, record.treatment, record.end_day))
    return records
