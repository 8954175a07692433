import math

import pytest

from simulation.treatment import ChemoState, lq_surviving_fraction


def test_linear_quadratic_fraction():
    assert lq_surviving_fraction(2.0, 0.03, 10.0) == pytest.approx(math.exp(-0.06 - 0.012))
    # 30 x 2 Gy is 30 times one fraction
    total = lq_surviving_fraction(2.0, 0.03, 10.0) ** 30
    assert total == pytest.approx(math.exp(-30 * 0.072))


def test_chemotherapy_kill_scales_with_dose_and_resistance_builds_up():
    chemo = ChemoState({"temozolomide": 0.2}, resistance_log_kill_scale=2.0)
    first = -math.log(chemo.surviving_fraction("temozolomide", 200))
    assert first == pytest.approx(0.2)
    for _ in range(20):
        chemo.surviving_fraction("temozolomide", 200)
    later = -math.log(chemo.surviving_fraction("temozolomide", 200))
    assert later < 0.5 * first  # acquired resistance
    half = ChemoState({"temozolomide": 0.2}, 2.0).surviving_fraction("temozolomide", 100)
    assert -math.log(half) == pytest.approx(0.1)


def test_drugs_without_cytotoxic_effect_do_not_kill():
    chemo = ChemoState({"temozolomide": 0.2}, 2.0)
    assert chemo.surviving_fraction("bevacizumab", 10) == 1.0
    assert chemo.surviving_fraction("lomustine", 110) == 1.0
