"""Every category the simulation can draw has a CDISC controlled term."""

import pytest

from exports.terminology import map_ethnicity, map_race
from simulation.spec import ETHNICITY_CATEGORIES, RACE_CATEGORIES


@pytest.mark.parametrize("race", RACE_CATEGORIES)
def test_every_simulated_race_maps_to_cdisc_race(race):
    assert map_race(race, "DM.RACE") in {
        "AMERICAN INDIAN OR ALASKA NATIVE",
        "ASIAN",
        "BLACK OR AFRICAN AMERICAN",
        "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER",
        "WHITE",
        "OTHER",
    }


@pytest.mark.parametrize("ethnicity", ETHNICITY_CATEGORIES)
def test_every_simulated_ethnicity_maps_to_cdisc_ethnic(ethnicity):
    assert map_ethnicity(ethnicity, "DM.ETHNIC") in {"HISPANIC OR LATINO", "NOT HISPANIC OR LATINO"}
