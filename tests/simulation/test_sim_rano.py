import pytest

from simulation.rano import RanoAssessor


def assessor(rt_end_day=None, baseline_spd=400.0, baseline_flair=50.0):
    rano = RanoAssessor(
        pr_fraction=0.5,
        pd_fraction=1.25,
        flair_pd_fraction=1.4,
        flair_pd_min_increase_ml=10,
        pd_min_increase_mm2=40,
        confirmation_days=28,
        pseudoprogression_window_days=84,
        rt_end_day=rt_end_day,
    )
    rano.baseline(baseline_spd, 5.0 if baseline_spd else 0.0, baseline_flair)
    return rano


@pytest.mark.parametrize(
    ("spd", "enhancing_ml", "expected"),
    [
        (400, 5, "SD"),
        (190, 2, "PR"),
        (0, 0, "CR"),
        (520, 6, "PD"),  # +30% over the nadir (baseline)
        (480, 6, "SD"),  # +20%: not progression
    ],
)
def test_time_point_response(spd, enhancing_ml, expected):
    assert assessor().assess(56, spd, enhancing_ml, 50) == expected


def test_progression_is_measured_from_the_nadir():
    rano = assessor()
    assert rano.assess(56, 160, 3, 50) == "PR"
    assert rano.assess(112, 195, 3, 50) == "PR"  # +22% over nadir 160, still <= 50% of 400
    assert rano.assess(168, 210, 3, 50) == "PD"  # +31% over nadir 160
    assert rano.progression_day == 168
    assert rano.assess(224, 100, 1, 50) == "PD"  # progression is final


def test_pseudoprogression_window_blocks_early_pd():
    rano = assessor(rt_end_day=67)
    assert rano.assess(95, 900, 12, 60) == "SD"  # 4 weeks after RT: within 12 weeks
    assert rano.progression_day is None
    assert rano.assess(151, 900, 12, 60) == "PD"  # 12 weeks after RT: PD is called
    assert rano.progression_day == 151


def test_new_measurable_lesion_is_progression_when_nothing_was_measurable():
    rano = assessor(baseline_spd=0.0)
    assert rano.assess(56, 0, 0, 50) == "SD"  # no measurable disease: neither CR nor PR
    assert rano.assess(112, 150, 2, 50) == "PD"


def test_flair_progression_only_counts_under_antiangiogenic_therapy():
    rano = assessor()
    assert rano.assess(56, 400, 5, 80) == "SD"
    assert rano.assess(112, 400, 5, 80, on_antiangiogenic=True) == "PD"


@pytest.mark.parametrize(
    ("history", "best"),
    [
        ([(56, 190, 2), (112, 180, 2)], "PR"),  # confirmed 8 weeks later
        ([(56, 190, 2), (70, 180, 2)], "SD"),  # second scan too early, no later scan
        ([(56, 190, 2), (112, 420, 5)], "SD"),  # not confirmed
        ([(56, 0, 0), (112, 0, 0)], "CR"),
        ([(56, 150, 2), (112, 0, 0)], "PR"),  # PR then CR: PR confirmed
        ([(56, 0, 0), (112, 150, 2)], "SD"),  # unconfirmed CR, then PD (new lesion)
        ([(56, 600, 8)], "PD"),
        ([(56, 190, 2), (112, 180, 2), (168, 600, 8)], "PR"),
        ([], "NE"),
    ],
)
def test_best_overall_response_needs_confirmation(history, best):
    rano = assessor()
    for day, spd, enhancing in history:
        rano.assess(day, spd, enhancing, 50)
    assert rano.best_response() == best
