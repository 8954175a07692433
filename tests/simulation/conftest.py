"""Session-scoped fixtures: simulated cohorts are expensive, so each is computed once."""

from __future__ import annotations

import os

import pytest

from simulation import parse_spec, simulate_subjects
from simulation.calibration import reference_cohorts
from simulation.calibration.report import reference_spec, simulate_table, summarise

SMALL_SPEC = {
    "size": 8,
    "seed": 11,
    "indication": "gbm_newly_diagnosed",
    "regimen": "stupp_rt_tmz",
    "follow_up_months": 10,
}


@pytest.fixture(scope="session")
def small_spec():
    return parse_spec(SMALL_SPEC)


@pytest.fixture(scope="session")
def small_chunk(small_spec):
    return simulate_subjects(small_spec, range(small_spec.size))


@pytest.fixture(scope="session")
def reference_results():
    """Each reference cohort (600 subjects) simulated once per test session."""
    workers = max(1, min(2, os.cpu_count() or 1))
    results = {}
    for cohort in reference_cohorts():
        subjects = simulate_table(reference_spec(cohort), workers=workers)
        results[cohort["name"]] = (cohort, subjects, summarise(subjects))
    return results
