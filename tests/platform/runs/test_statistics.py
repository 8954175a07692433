"""Run statistics: Kaplan-Meier with CIs and numbers at risk, response, bias SMDs, subgroups."""

import math

import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from runs.statistics import (
    SMD_IMBALANCE_THRESHOLD,
    bias_breakdown,
    cohort_statistics,
    compare_cohorts,
    kaplan_meier,
    response_summary,
    smd_mean,
    smd_proportion,
)

SPEC = {
    "follow_up_months": 24,
    "demographics": {"age": {"median_years": 56, "sd_years": 10}, "kps": {"100": 0.5, "90": 0.5}},
    "biomarkers": {"mgmt_methylated": 0.5, "idh_mutant": 0.0},
    "resection": {"gtr": 0.5, "str": 0.5, "biopsy": 0.0},
    "target_population": {
        "name": "ref",
        "age_median_years": 56.0,
        "male_fraction": 0.5,
        "race": {"white": 0.5, "black": 0.5},
        "ethnicity": {"hispanic_or_latino": 0.5, "not_hispanic_or_latino": 0.5},
    },
}


def _cohort(n_male: int, n_female: int) -> pd.DataFrame:
    n = n_male + n_female
    return pd.DataFrame(
        {
            "subject_id": [f"S{i}" for i in range(n)],
            "subject_index": range(n),
            "age": [46.0, 66.0] * (n // 2),
            "sex": ["M"] * n_male + ["F"] * n_female,
            "race": ["white", "black"] * (n // 2),
            "ethnicity": ["hispanic_or_latino", "not_hispanic_or_latino"] * (n // 2),
            "kps": [100, 90] * (n // 2),
            "mgmt_methylated": [True, False] * (n // 2),
            "idh_mutant": [False] * n,
            "resection": ["gtr", "str"] * (n // 2),
            "regimen": "stupp_rt_tmz",
            "os_months": [float(i + 1) for i in range(n)],
            "os_event": [1] * n,
            "pfs_months": [float(i + 1) / 2 for i in range(n)],
            "pfs_event": [1] * n,
            "best_response": ["PR", "SD"] * (n // 2),
        }
    )


def test_smd_formulas_match_austin_2009():
    assert smd_proportion(0.5, 0.5) == 0
    assert smd_proportion(0.6, 0.4) == pytest.approx(0.2 / math.sqrt(0.24))
    assert smd_mean(60, 10, 55, 10) == pytest.approx(0.5)


def test_a_balanced_cohort_has_no_flag_and_an_unbalanced_one_is_flagged():
    balanced = bias_breakdown(_cohort(10, 10), SPEC)
    assert balanced["flagged"] == 0 and balanced["threshold"] == SMD_IMBALANCE_THRESHOLD
    covariates = {row["covariate"] for row in balanced["rows"]}
    assert covariates == {
        "age",
        "sex",
        "race",
        "ethnicity",
        "kps",
        "mgmt_methylated",
        "idh_mutant",
        "resection",
    }
    skewed = bias_breakdown(_cohort(16, 4), SPEC)
    sex = next(row for row in skewed["rows"] if row["covariate"] == "sex")
    assert sex["cohort"] == 0.8 and sex["target"] == 0.5 and sex["flagged"]
    assert sex["smd"] == pytest.approx(smd_proportion(0.8, 0.5), abs=1e-4)


def test_kaplan_meier_matches_lifelines_with_numbers_at_risk():
    durations = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    events = pd.Series([1, 1, 0, 1, 1, 0, 1, 1])
    km = kaplan_meier(durations, events, label="os", horizon_months=6)
    reference = KaplanMeierFitter().fit(durations, events)
    assert km["median"] == pytest.approx(reference.median_survival_time_)
    assert km["at_risk"] == {"time_months": [0.0, 3.0, 6.0], "n": [8, 6, 3]}
    assert km["events"] == 6 and km["n"] == 8
    for lower, value, upper in zip(
        km["curve"]["ci_lower"], km["curve"]["survival"], km["curve"]["ci_upper"], strict=True
    ):
        assert lower <= value <= upper


def test_objective_response_rate_with_an_exact_ci():
    summary = response_summary(_cohort(10, 10))
    orr = summary["objective_response"]
    assert orr["responders"] == 10 and orr["rate"] == 0.5
    assert orr["ci_lower"] < 0.5 < orr["ci_upper"]
    assert {row["level"]: row["n"] for row in summary["best_response"]}["SD"] == 10


def test_the_full_set_and_a_comparison_of_two_runs(make_cohort_frames):
    subjects, assessments = make_cohort_frames(60, seed=1)
    stats = cohort_statistics(subjects, assessments, SPEC)
    assert set(stats) == {
        "n_subjects",
        "table_one",
        "kaplan_meier",
        "response",
        "trajectories",
        "bias",
        "subgroups",
    }
    assert stats["table_one"]["age"]["n"] == 60
    assert [row["visit"] for row in stats["trajectories"]] == [0, 1, 2, 3]
    sex_rows = [row for row in stats["subgroups"] if row["covariate"] == "sex"]
    assert sum(row["n"] for row in sex_rows) == 60 and "ci_lower" in sex_rows[0]["os"]
    other, _ = make_cohort_frames(60, seed=2)
    comparison = compare_cohorts(subjects, other)
    assert 0 <= comparison["os"]["logrank_p"] <= 1
    assert comparison["os"]["a"]["median"] == stats["kaplan_meier"]["os"]["median"]
