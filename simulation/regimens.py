"""Treatment regimens built from composable primitives.

A regimen is: optional surgery at day 0, an optional radiotherapy course (fractions on weekdays),
and drug schedules (``days_on`` consecutive daily doses every ``cycle_days``, for ``cycles`` cycles
or until progression). Days are integer days since surgery / enrolment (day 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DRUG_UNITS: dict[str, str] = {
    "temozolomide": "mg/m2",
    "lomustine": "mg/m2",
    "bevacizumab": "mg/kg",
}
INDICATIONS: tuple[str, ...] = ("gbm_newly_diagnosed", "gbm_recurrent")

# Stupp 2005: RT starts within 6 weeks of surgery; we use 4 weeks.
STUPP_RT_START_DAY = 28
STUPP_RT_FRACTIONS = 30  # 60 Gy in 30 x 2 Gy, Monday-Friday over 6 weeks (Stupp 2005)
STUPP_RT_END_DAY = STUPP_RT_START_DAY + 5 * 7 + 4  # last weekday fraction of week 6: day 67
STUPP_ADJUVANT_START_DAY = STUPP_RT_END_DAY + 28  # adjuvant TMZ 4 weeks after RT (Stupp 2005)


@dataclass(frozen=True)
class Radiotherapy:
    """External-beam course: ``fractions`` of ``dose_per_fraction_gy``, ``fractions_per_week``."""

    start_day: int
    dose_per_fraction_gy: float
    fractions: int
    fractions_per_week: int = 5

    def fraction_days(self) -> list[int]:
        days: list[int] = []
        week = 0
        while len(days) < self.fractions:
            for weekday in range(self.fractions_per_week):
                if len(days) < self.fractions:
                    days.append(self.start_day + 7 * week + weekday)
            week += 1
        return days

    @property
    def end_day(self) -> int:
        return self.fraction_days()[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_day": self.start_day,
            "dose_per_fraction_gy": self.dose_per_fraction_gy,
            "fractions": self.fractions,
            "fractions_per_week": self.fractions_per_week,
        }


@dataclass(frozen=True)
class DrugSchedule:
    """``days_on`` daily doses every ``cycle_days``; ``cycles=None`` means until progression."""

    drug: str
    dose: float
    dose_unit: str
    start_day: int
    days_on: int = 1
    cycle_days: int = 1
    cycles: int | None = 1

    def dose_on(self, day: int) -> float:
        """Dose given on ``day`` (0 when none)."""
        if day < self.start_day:
            return 0.0
        offset = day - self.start_day
        cycle, day_in_cycle = divmod(offset, self.cycle_days)
        if self.cycles is not None and cycle >= self.cycles:
            return 0.0
        return self.dose if day_in_cycle < self.days_on else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "drug": self.drug,
            "dose": self.dose,
            "dose_unit": self.dose_unit,
            "start_day": self.start_day,
            "days_on": self.days_on,
            "cycle_days": self.cycle_days,
            "cycles": self.cycles,
        }


@dataclass(frozen=True)
class Regimen:
    name: str
    indication: str
    description: str = ""
    surgery: bool = False
    radiotherapy: Radiotherapy | None = None
    drugs: tuple[DrugSchedule, ...] = field(default_factory=tuple)

    @property
    def rt_end_day(self) -> int | None:
        return None if self.radiotherapy is None else self.radiotherapy.end_day

    def doses_on(self, day: int) -> dict[str, float]:
        """Total dose per drug on ``day`` (drugs stopped at progression are handled by the caller)."""
        doses: dict[str, float] = {}
        for schedule in self.drugs:
            dose = schedule.dose_on(day)
            if dose > 0:
                doses[schedule.drug] = doses.get(schedule.drug, 0.0) + dose
        return doses

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "indication": self.indication,
            "surgery": self.surgery,
            "radiotherapy": None if self.radiotherapy is None else self.radiotherapy.to_dict(),
            "drugs": [schedule.to_dict() for schedule in self.drugs],
        }

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Regimen:
        rt = data.get("radiotherapy")
        return cls(
            name=name,
            indication=data["indication"],
            description=data.get("description", ""),
            surgery=bool(data.get("surgery", False)),
            radiotherapy=None if rt is None else Radiotherapy(**rt),
            drugs=tuple(DrugSchedule(**drug) for drug in data.get("drugs", [])),
        )


def _stupp_rt() -> Radiotherapy:
    return Radiotherapy(
        start_day=STUPP_RT_START_DAY,
        dose_per_fraction_gy=2.0,
        fractions=STUPP_RT_FRACTIONS,
        fractions_per_week=5,
    )


REGIMENS: dict[str, Regimen] = {
    "rt_alone": Regimen(
        name="rt_alone",
        indication="gbm_newly_diagnosed",
        description="Surgery, then radiotherapy 60 Gy in 30 x 2 Gy over 6 weeks (Stupp 2005 control).",
        surgery=True,
        radiotherapy=_stupp_rt(),
    ),
    "stupp_rt_tmz": Regimen(
        name="stupp_rt_tmz",
        indication="gbm_newly_diagnosed",
        description=(
            "Surgery, radiotherapy 60 Gy/30 fractions with concurrent temozolomide 75 mg/m2 daily, "
            "then 6 cycles of temozolomide 150 (cycle 1) and 200 mg/m2 days 1-5 every 28 days."
        ),
        surgery=True,
        radiotherapy=_stupp_rt(),
        drugs=(
            DrugSchedule("temozolomide", 75.0, "mg/m2", STUPP_RT_START_DAY, 42, 42, 1),
            DrugSchedule("temozolomide", 150.0, "mg/m2", STUPP_ADJUVANT_START_DAY, 5, 28, 1),
            DrugSchedule("temozolomide", 200.0, "mg/m2", STUPP_ADJUVANT_START_DAY + 28, 5, 28, 5),
        ),
    ),
    "lomustine": Regimen(
        name="lomustine",
        indication="gbm_recurrent",
        description="Lomustine 110 mg/m2 every 6 weeks until progression (EORTC 26101 control).",
        drugs=(DrugSchedule("lomustine", 110.0, "mg/m2", 0, 1, 42, None),),
    ),
    "bevacizumab": Regimen(
        name="bevacizumab",
        indication="gbm_recurrent",
        description="Bevacizumab 10 mg/kg every 2 weeks until progression (recurrent GBM).",
        drugs=(DrugSchedule("bevacizumab", 10.0, "mg/kg", 0, 1, 14, None),),
    ),
}
