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


# --- Per-subject plot series --------------------------------------------------------------------


def _visits(rows: list[tuple]) -> pd.DataFrame:
    columns = ["subject_id", "visit", "day", "enhancing_ml", "necrosis_ml", "edema_ml"]
    columns += ["spd_mm2", "response"]
    return pd.DataFrame(rows, columns=columns)


def test_subject_plots_by_hand_on_a_tiny_cohort():
    from runs.statistics import subject_plots

    subjects = _cohort(2, 2)  # S0..S3, OS 1..4 months
    assessments = _visits(
        [
            ("S0", 0, 0, 2.0, 1.0, 5.0, 400.0, ""),
            ("S0", 1, 56, 1.0, 0.5, 4.0, 100.0, "PR"),  # -75 %
            ("S0", 2, 112, 3.0, 1.0, 6.0, 500.0, "PD"),
            ("S1", 0, 0, 1.0, 0.0, 3.0, 200.0, ""),
            ("S1", 1, 56, 1.2, 0.0, 3.0, 260.0, "PD"),  # +30 %
            ("S2", 0, 0, 0.0, 0.0, 1.0, 0.0, ""),  # no measurable baseline: not in the waterfall
            ("S2", 1, 56, 0.5, 0.0, 1.0, 50.0, "NE"),
            ("S3", 0, 0, 1.0, 1.0, 1.0, 300.0, ""),  # baseline only: not in the waterfall
        ]
    )
    plots = subject_plots(subjects, assessments)
    waterfall = plots["waterfall"]
    assert waterfall["subject_id"] == ["S1", "S0"]
    assert waterfall["best_change_percent"] == [30.0, -75.0]
    assert waterfall["best_response"] == ["SD", "PR"]
    assert waterfall["sampling"] == {"shown": 2, "of": 2, "ranked_by": "best SPD change"}
    swimmer = plots["swimmer"]
    assert swimmer["subject_id"] == ["S0", "S1", "S2", "S3"]  # by overall survival
    assert swimmer["os_months"] == [1.0, 2.0, 3.0, 4.0] and swimmer["os_event"] == [1, 1, 1, 1]
    assert swimmer["response_months"][0] == [round(56 / (365.25 / 12), 2)]
    assert swimmer["response_months"][1:] == [[], [], []]
    spaghetti = plots["spaghetti"]
    assert spaghetti["subject_id"] == ["S0", "S1", "S2", "S3"]
    assert spaghetti["day"][0] == [0, 56, 112] and spaghetti["tumour_ml"][0] == [3.0, 1.5, 4.0]
    assert spaghetti["day"][3] == [0]


def test_subject_plots_of_10000_subjects_are_sampled_small_and_deterministic(make_cohort_frames):
    import json

    import numpy as np

    from runs.statistics import (
        SPAGHETTI_MAX_SUBJECTS,
        SWIMMER_MAX_SUBJECTS,
        WATERFALL_MAX_SUBJECTS,
        subject_plots,
    )

    subjects, assessments = make_cohort_frames(10_000, seed=3, visits=10)
    plots = subject_plots(subjects, assessments)
    encoded = json.dumps(plots, separators=(",", ":"))
    assert len(encoded) < 1_000_000  # stored as JSON with the statistics: well under a few MB
    assert encoded == json.dumps(
        subject_plots(subjects.sample(frac=1, random_state=1), assessments.iloc[::-1]),
        separators=(",", ":"),
    ), "the same cohort in any row order gives the same bytes"
    shown = {name: len(plots[name]["subject_id"]) for name in ("waterfall", "swimmer", "spaghetti")}
    assert shown == {
        "waterfall": WATERFALL_MAX_SUBJECTS,
        "swimmer": SWIMMER_MAX_SUBJECTS,
        "spaghetti": SPAGHETTI_MAX_SUBJECTS,
    }
    for name, plot in plots.items():
        if isinstance(plot, dict):
            lengths = {len(v) for k, v in plot.items() if isinstance(v, list)}
            assert len(lengths) == 1, f"{name}: every column has one value per subject"
            assert plot["sampling"]["of"] == 10_000
    # Evenly spaced ranks keep the extremes and the quantiles of the whole cohort.
    baseline = assessments[assessments["visit"] == 0].set_index("subject_id")["spd_mm2"]
    best = assessments[assessments["visit"] > 0].groupby("subject_id")["spd_mm2"].min()
    change = (100 * (best - baseline) / baseline).round(1)
    sampled = np.array(plots["waterfall"]["best_change_percent"])
    assert sampled[0] == change.max() and sampled[-1] == change.min()
    assert abs(np.median(sampled) - change.median()) < 1.0
    os_months = plots["swimmer"]["os_months"]
    assert os_months[0] == round(subjects["os_months"].min(), 2)
    assert os_months[-1] == round(subjects["os_months"].max(), 2)
    assert plots["spaghetti"]["subject_id"][:2] == ["SCA-000001", "SCA-000051"]


def test_evenly_spaced_positions():
    from runs.statistics import evenly_spaced

    assert evenly_spaced(3, 5).tolist() == [0, 1, 2]
    assert evenly_spaced(11, 3).tolist() == [0, 5, 10]
    assert len(evenly_spaced(10_000, 2000)) == 2000


@pytest.mark.django_db
def test_finishing_a_run_stores_the_plots_with_the_statistics(spec, members, make_cohort_frames):
    from django.db import transaction

    from runs.models import ChunkStatus, RunStatistics, RunStatus
    from runs.services import run_launch, subjects_store
    from runs.statistics import subject_plots
    from runs.tasks import finalise_run

    run = run_launch(spec=spec, actor=members["designer"])
    subjects, assessments = make_cohort_frames(run.size, seed=5)
    with transaction.atomic():
        subjects_store(run=run, subjects=subjects, assessments=assessments)
        run.chunks.update(status=ChunkStatus.DONE)
        run.chunks_done, run.status = run.chunks_total, RunStatus.RUNNING
        run.save()
    assert finalise_run.apply(args=(run.pk,)).get() == "succeeded"
    stored = RunStatistics.objects.get(run=run)
    assert stored.subject_plots == subject_plots(subjects, assessments)
    assert stored.data["n_subjects"] == run.size
    assert "waterfall" not in stored.data, "the summary stays small; the series live apart"
