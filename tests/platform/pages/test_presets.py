"""Every designer preset is a valid cohort spec for the simulation, with the regimen it names."""

import pytest

import simulation
from pages.presets import PRESETS, preset_specs


@pytest.mark.parametrize("preset", preset_specs(), ids=[p["key"] for p in PRESETS])
def test_preset_is_a_valid_spec(preset):
    assert simulation.validate_spec(preset["spec"]) == []
    assert simulation.parse_spec(preset["spec"]).regimen == preset["key"]


def test_the_four_standard_of_care_arms_are_offered():
    assert [p["key"] for p in PRESETS] == ["stupp_rt_tmz", "rt_alone", "lomustine", "bevacizumab"]
    assert all(p["source"] for p in PRESETS), "each preset names its literature source"
