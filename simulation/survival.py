"""Survival: death linked to tumour burden and covariates; censoring by follow-up and dropout.

A patient dies of the tumour on the first day the tumour-cell burden reaches their lethal burden
(drawn per patient in :mod:`simulation.population`, lower with age and poor performance status,
higher with MGMT methylation and IDH mutation; Gorlia 2008, Hegi 2005, Yan 2009). Competing
non-tumour death follows an age-dependent exponential hazard; loss to follow-up an exponential
dropout hazard.
"""

from __future__ import annotations

import math

import numpy as np

from simulation.calibration import parameters

DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_YEAR = 365.25


def competing_event_days(rng: np.random.Generator, age_years: float) -> tuple[float, float]:
    """(other-cause death day, dropout day), each an exponential draw."""
    s = parameters()["survival"]
    other_hazard = s["other_cause_hazard_per_year_at_55"] * 2 ** (
        (age_years - 55) / s["other_cause_doubling_years"]
    )
    other_day = rng.exponential(DAYS_PER_YEAR / other_hazard)
    dropout_day = rng.exponential(DAYS_PER_YEAR / s["dropout_hazard_per_year"])
    return float(other_day), float(dropout_day)


def follow_up_days(follow_up_months: float) -> int:
    return int(math.floor(follow_up_months * DAYS_PER_MONTH))


def days_to_months(day: float) -> float:
    return day / DAYS_PER_MONTH
