"""Reference cohorts (600 subjects each) against the published control arms."""

import pytest

from simulation import CALIBRATION_VERSION
from simulation.calibration import calibration_data
from simulation.calibration.report import check, km_summary

COHORTS = ["stupp_rt_tmz", "rt_alone", "lomustine_recurrent"]


def test_every_parameter_has_a_unit_and_a_known_source():
    data = calibration_data()
    assert data["calibration_version"] == CALIBRATION_VERSION
    for group, entries in data["parameters"].items():
        for name, entry in entries.items():
            assert {"value", "unit", "source"} <= set(entry), f"{group}.{name}"
            assert entry["source"] in data["sources"], f"{group}.{name}"
    for cohort in data["reference_cohorts"]:
        assert cohort["source"] in data["sources"] and cohort["size"] == 600


@pytest.mark.parametrize("name", COHORTS)
def test_reference_cohort_lands_in_the_published_intervals(reference_results, name):
    cohort, _subjects, summary = reference_results[name]
    assert check(cohort, summary) == []


def test_temozolomide_beats_radiotherapy_alone(reference_results):
    _, _, stupp = reference_results["stupp_rt_tmz"]
    _, _, rt = reference_results["rt_alone"]
    assert stupp["os"]["median"] > rt["os"]["median"] + 1
    assert stupp["os"]["at_24_months"] > rt["os"]["at_24_months"] + 0.08


def test_mgmt_methylation_is_prognostic_and_predictive(reference_results):
    """Hegi 2005: methylated patients live longer, and gain more from temozolomide."""
    _, stupp, _ = reference_results["stupp_rt_tmz"]
    _, rt, _ = reference_results["rt_alone"]

    def median_os(frame, methylated):
        part = frame[frame.mgmt_methylated == methylated]
        return km_summary(part.os_months, part.os_event)["median"]

    gain_methylated = median_os(stupp, 1) - median_os(rt, 1)
    gain_unmethylated = median_os(stupp, 0) - median_os(rt, 0)
    assert median_os(stupp, 1) > median_os(stupp, 0) + 3
    assert gain_methylated > gain_unmethylated


def test_covariates_shift_survival_in_the_published_directions(reference_results):
    _, stupp, _ = reference_results["stupp_rt_tmz"]

    def median_os(frame):
        return km_summary(frame.os_months, frame.os_event)["median"]

    assert median_os(stupp[stupp.age < 50]) > median_os(stupp[stupp.age >= 60])
    assert median_os(stupp[stupp.kps >= 90]) > median_os(stupp[stupp.kps <= 70])
    assert median_os(stupp[stupp.resection == "gtr"]) > median_os(
        stupp[stupp.resection == "biopsy"]
    )
