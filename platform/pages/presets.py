"""Cohort-spec presets offered by the designer: the standard-of-care control arms of GBM trials.

Each preset is a partial spec; the simulation fills every other field with its defaults (the
Stupp 2005 population). Sources are next to the numbers.
"""

from typing import Any

#: Subjects and seed a new design starts with: large enough for stable medians, quick to run.
DEFAULT_SIZE = 500
DEFAULT_SEED = 20260101

# EORTC 26101 (Wick et al., NEJM 2017), lomustine arm, recurrent GBM: median age 57 years,
# about 65% male, WHO PS 0-1 required in practice (KPS >= 70).
RECURRENT_AGE_MEDIAN_YEARS = 57.0
RECURRENT_MALE_FRACTION = 0.65
RECURRENT_KPS = {"100": 0.15, "90": 0.3, "80": 0.3, "70": 0.25, "60": 0.0, "50": 0.0, "40": 0.0}
# Recurrent disease: no up-front resection in the simulated course (second surgery not modelled
# as a default); the biopsy share stands for unresected recurrence.
RECURRENT_RESECTION = {"gtr": 0.0, "str": 0.2, "biopsy": 0.8}

PRESETS: list[dict[str, Any]] = [
    {
        "key": "stupp_rt_tmz",
        "label": "Stupp RT + temozolomide (newly diagnosed)",
        "source": "Stupp et al., NEJM 2005 (EORTC 26981/NCIC CE.3), experimental arm",
        "spec": {
            "indication": "gbm_newly_diagnosed",
            "regimen": "stupp_rt_tmz",
            "follow_up_months": 36,
            "visit_interval_weeks": 8,
        },
    },
    {
        "key": "rt_alone",
        "label": "Radiotherapy alone (newly diagnosed)",
        "source": "Stupp et al., NEJM 2005, control arm: 60 Gy in 30 x 2 Gy",
        "spec": {
            "indication": "gbm_newly_diagnosed",
            "regimen": "rt_alone",
            "follow_up_months": 36,
            "visit_interval_weeks": 8,
        },
    },
    {
        "key": "lomustine",
        "label": "Recurrent GBM on lomustine",
        "source": "Wick et al., NEJM 2017 (EORTC 26101), lomustine 110 mg/m2 every 6 weeks",
        "spec": {
            "indication": "gbm_recurrent",
            "regimen": "lomustine",
            "follow_up_months": 24,
            "visit_interval_weeks": 6,
            "eligibility": {"age_min_years": 18, "age_max_years": 80, "kps_min": 70},
            "demographics": {
                "age": {"median_years": RECURRENT_AGE_MEDIAN_YEARS, "sd_years": 10.0},
                "sex": {"M": RECURRENT_MALE_FRACTION, "F": 1 - RECURRENT_MALE_FRACTION},
                "kps": RECURRENT_KPS,
            },
            "resection": RECURRENT_RESECTION,
        },
    },
    {
        "key": "bevacizumab",
        "label": "Recurrent GBM on bevacizumab",
        "source": "Bevacizumab 10 mg/kg every 2 weeks (BRAIN trial, Friedman et al., JCO 2009)",
        "spec": {
            "indication": "gbm_recurrent",
            "regimen": "bevacizumab",
            "follow_up_months": 24,
            "visit_interval_weeks": 6,
            "eligibility": {"age_min_years": 18, "age_max_years": 80, "kps_min": 70},
            "demographics": {
                "age": {"median_years": RECURRENT_AGE_MEDIAN_YEARS, "sd_years": 10.0},
                "sex": {"M": RECURRENT_MALE_FRACTION, "F": 1 - RECURRENT_MALE_FRACTION},
                "kps": RECURRENT_KPS,
            },
            "resection": RECURRENT_RESECTION,
        },
    },
]


def preset_specs(*, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """The presets with a size and seed, ready to load into the form (validated in the tests)."""
    return [
        {**preset, "spec": {"size": size, "seed": seed, **preset["spec"]}} for preset in PRESETS
    ]
