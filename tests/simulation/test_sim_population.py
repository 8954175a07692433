import numpy as np

from simulation import parse_spec
from simulation.population import (
    draw_biology,
    draw_covariates,
    subject_id,
    subject_streams,
)

SPEC = {"size": 10, "seed": 5, "indication": "gbm_newly_diagnosed", "regimen": "stupp_rt_tmz"}


def _cohort(n, **changes):
    spec = parse_spec({**SPEC, **changes, "size": max(n, 1)})
    return [draw_covariates(spec, subject_streams(spec.seed, i)["covariates"]) for i in range(n)]


def test_subject_ids():
    assert subject_id(0) == "SCA-000001"
    assert subject_id(9999) == "SCA-010000"


def test_streams_depend_only_on_seed_and_index():
    a = subject_streams(5, 3)["biology"].random(4)
    b = subject_streams(5, 3)["biology"].random(4)
    c = subject_streams(5, 4)["biology"].random(4)
    d = subject_streams(5, 3)["covariates"].random(4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


def test_covariates_follow_the_spec_proportions():
    subjects = _cohort(3000)
    male = np.mean([s.sex == "M" for s in subjects])
    mgmt = np.mean([s.mgmt_methylated for s in subjects])
    gtr = np.mean([s.resection == "gtr" for s in subjects])
    ages = np.array([s.age for s in subjects])
    assert abs(male - 0.63) < 0.03
    assert abs(mgmt - 0.45) < 0.03
    assert abs(gtr - 0.39) < 0.03
    assert 53 <= np.median(ages) <= 59
    assert ages.min() >= 18 and ages.max() <= 70
    assert min(s.kps for s in subjects) >= 60


def test_eligibility_window_and_custom_proportions_are_respected():
    subjects = _cohort(
        500,
        eligibility={"age_min_years": 40, "age_max_years": 50, "kps_min": 80},
        demographics={"sex": {"F": 1.0}},
    )
    assert all(40 <= s.age <= 50 and s.kps >= 80 and s.sex == "F" for s in subjects)


def test_idh_mutant_patients_are_younger():
    subjects = _cohort(3000, biomarkers={"mgmt_methylated": 0.45, "idh_mutant": 0.3})
    mutant = [s.age for s in subjects if s.idh_mutant]
    wildtype = [s.age for s in subjects if not s.idh_mutant]
    assert np.mean(mutant) < np.mean(wildtype) - 8


def test_biology_links_to_covariates():
    spec = parse_spec(SPEC)
    subjects = _cohort(400)
    bios = [
        draw_biology(s, spec.indication, subject_streams(5, i)["biology"])
        for i, s in enumerate(subjects)
    ]
    meth = [
        b["chemo_log_kill"]["temozolomide"]
        for s, b in zip(subjects, bios, strict=True)
        if s.mgmt_methylated
    ]
    unmeth = [
        b["chemo_log_kill"]["temozolomide"]
        for s, b in zip(subjects, bios, strict=True)
        if not s.mgmt_methylated
    ]
    assert np.median(meth) > 3 * np.median(unmeth)
    rhos = [b["rho_per_day"] for b in bios]
    assert 0.01 <= np.median(rhos) <= 0.05 and max(rhos) < 0.2  # per day, Harpold 2007
    assert all(b["d_grey_mm2_per_day"] < b["d_white_mm2_per_day"] / 4.9 for b in bios)
