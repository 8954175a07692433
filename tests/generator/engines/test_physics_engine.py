"""The physics engine: contrast per sequence, signal equations, mass effect, noise, grids."""

from __future__ import annotations

import math

import numpy as np
import pytest

from generator.engine import GeneratorInputError, RenderRequest, render_visit
from generator.engines.physics import (
    SEQUENCE_PROTOCOLS,
    InversionRecovery,
    PhysicsEngine,
    SpinEcho,
    _rician,
    tissue_parameters,
)


@pytest.fixture(scope="module")
def visit(anatomy, tumour):
    return render_visit(anatomy, tumour, engine=PhysicsEngine(), subject_seed=21)


def _pure(anatomy, tumour, tissue: str) -> np.ndarray:
    """Voxels that are almost purely one normal tissue, away from the tumour."""
    return anatomy.brain_mask & (tumour == 0) & (getattr(anatomy, tissue) > 0.95)


def _mean(volume, where) -> float:
    assert where.sum() > 50
    return float(volume[where].mean())


def test_t1n_orders_white_over_grey_over_csf(anatomy, tumour, visit):
    wm, gm, csf = (_mean(visit["t1n"], _pure(anatomy, tumour, t)) for t in ("wm", "gm", "csf"))
    assert wm > gm > csf


def test_t2w_orders_csf_over_grey_over_white(anatomy, tumour, visit):
    wm, gm, csf = (_mean(visit["t2w"], _pure(anatomy, tumour, t)) for t in ("wm", "gm", "csf"))
    assert csf > gm > wm


def test_flair_nulls_csf_and_shows_oedema_bright(anatomy, tumour, visit):
    flair = visit["t2f"]
    csf = _mean(flair, _pure(anatomy, tumour, "csf"))
    wm = _mean(flair, _pure(anatomy, tumour, "wm"))
    oedema = _mean(flair, tumour == 2)
    assert csf < 0.3 * wm  # nulled: only the Rician noise floor and partial volume remain
    assert oedema > 1.4 * wm


def test_t1c_enhancing_rim_is_brighter_than_before_contrast(tumour, visit):
    rim = tumour == 3
    assert _mean(visit["t1c"], rim) > 1.8 * _mean(visit["t1n"], rim)
    # Gadolinium acts only where the tumour enhances: oedema is unchanged on average.
    oedema = tumour == 2
    assert _mean(visit["t1c"], oedema) == pytest.approx(_mean(visit["t1n"], oedema), rel=0.05)


def test_t2w_shows_necrosis_and_oedema_brighter_than_white_matter(anatomy, tumour, visit):
    wm = _mean(visit["t2w"], _pure(anatomy, tumour, "wm"))
    assert _mean(visit["t2w"], tumour == 2) > 1.5 * wm
    assert _mean(visit["t2w"], tumour == 1) > 1.5 * wm


def test_flair_inversion_time_nulls_csf_exactly():
    protocol = SEQUENCE_PROTOCOLS["t2f"]
    assert isinstance(protocol, InversionRecovery)
    csf = tissue_parameters(3.0)["csf"]
    ti_ms = protocol.null_ti_ms(csf.t1_ms)
    signal = protocol.signal(
        np.array([csf.t1_ms]), np.array([csf.t2_ms]), np.array([1.0]), ti_ms=ti_ms
    )
    assert signal[0] == pytest.approx(0.0, abs=1e-12)
    assert 2000 < ti_ms < 2800  # the usual 3 T FLAIR TI range


def test_spin_echo_equation_matches_closed_form():
    se = SpinEcho(tr_ms=5000.0, te_ms=100.0)
    value = se.signal(np.array([1000.0]), np.array([100.0]), np.array([0.8]))[0]
    assert value == pytest.approx(0.8 * (1 - math.exp(-5.0)) * math.exp(-1.0))


@pytest.mark.parametrize("field_strength_t", [1.5, 3.0])
def test_signal_tables_keep_the_contrast_at_both_fields(field_strength_t):
    engine = PhysicsEngine(field_strength_t=field_strength_t)
    t1 = engine.signal_table("t1n")
    t2 = engine.signal_table("t2w")
    assert t1["wm"] > t1["gm"] > t1["csf"]
    assert t2["csf"] > t2["gm"] > t2["wm"]
    assert engine.signal_table("t1c")["enhancing"] > 1.5 * t1["enhancing"]


def test_unknown_field_strength_is_rejected():
    with pytest.raises(GeneratorInputError, match=r"field_strength_t: 7.0 T not tabulated"):
        PhysicsEngine(field_strength_t=7.0)


def test_out_of_range_option_is_rejected():
    with pytest.raises(GeneratorInputError, match=r"noise_fraction: 2.0 must lie in \[0, 1\]"):
        PhysicsEngine(noise_fraction=2.0)


def test_mass_effect_pushes_white_matter_away_from_the_tumour(anatomy, make_tumour, sites):
    """With mass effect the ring just outside the lesion shows tissue that sat nearer the
    centre; without it the tissue there is the template's."""
    labels = make_tumour(sites["right_wm"], 12.0)
    quiet = {"noise_fraction": 0.0, "bias_amplitude": 0.0, "tissue_jitter": 0.0}
    pushed = PhysicsEngine(**quiet).render(RenderRequest(anatomy, labels, "t1n", 1))
    still = PhysicsEngine(mass_effect_fraction=0.0, **quiet).render(
        RenderRequest(anatomy, labels, "t1n", 1)
    )
    outside = anatomy.brain_mask & (labels == 0)
    changed = outside & (np.abs(pushed - still) > 1.0)
    assert changed.sum() > 100
    # Displacement decays: the changed voxels lie within a few tumour radii of the lesion.
    ijk = np.argwhere(changed)
    xyz = ijk @ anatomy.affine[:3, :3].T + anatomy.affine[:3, 3]
    distance_mm = np.linalg.norm(xyz - np.asarray(sites["right_wm"]), axis=1)
    assert distance_mm.max() < 12.0 * 1.6 * 2.0 + 12.0


def test_no_tumour_means_no_tumour_signal_and_no_mass_effect(anatomy, no_tumour):
    quiet = PhysicsEngine(noise_fraction=0.0, bias_amplitude=0.0, tissue_jitter=0.0)
    volume = quiet.render(RenderRequest(anatomy, no_tumour, "t1n", 1))
    table = quiet.signal_table("t1n")
    expected = anatomy.gm * table["gm"] + anatomy.wm * table["wm"] + anatomy.csf * table["csf"]
    brain = anatomy.brain_mask
    assert np.allclose(volume[brain], expected[brain], rtol=1e-5, atol=1e-3)


def test_density_map_scales_the_oedema_compartment(anatomy, tumour):
    engine = PhysicsEngine(noise_fraction=0.0, bias_amplitude=0.0, tissue_jitter=0.0)
    low = engine.render(RenderRequest(anatomy, tumour, "t2f", 1, density=np.zeros(tumour.shape)))
    high = engine.render(RenderRequest(anatomy, tumour, "t2f", 1, density=np.ones(tumour.shape)))
    oedema = tumour == 2
    assert high[oedema].mean() > low[oedema].mean()


def test_rician_noise_has_the_rayleigh_floor_and_unbiased_bright_signal():
    rng = np.random.default_rng(0)
    sigma = 10.0
    floor = _rician(np.zeros(200_000, dtype=np.float32), sigma, rng)
    assert floor.mean() == pytest.approx(sigma * math.sqrt(math.pi / 2), rel=0.01)
    bright = _rician(np.full(200_000, 1000.0, dtype=np.float32), sigma, rng)
    assert bright.mean() == pytest.approx(1000.0, rel=1e-3)
    assert bright.std() == pytest.approx(sigma, rel=0.02)


def test_bias_field_is_smooth_and_bounded(anatomy, no_tumour):
    flat = PhysicsEngine(noise_fraction=0.0, bias_amplitude=0.0, tissue_jitter=0.0)
    biased = PhysicsEngine(noise_fraction=0.0, tissue_jitter=0.0)
    a = flat.render(RenderRequest(anatomy, no_tumour, "t1n", 3))
    b = biased.render(RenderRequest(anatomy, no_tumour, "t1n", 3))
    brain = anatomy.brain_mask & (a > 100)
    ratio = b[brain] / a[brain]
    assert 0.8 < ratio.min() and ratio.max() < 1.25
    assert ratio.std() > 0.01  # present
    field = np.ones_like(a)
    field[brain] = ratio
    # Smooth: neighbouring voxels differ by well under 1 %.
    step = np.abs(np.diff(field, axis=0))[brain[1:] & brain[:-1]]
    assert step.max() < 0.01


def test_one_millimetre_grid_renders_with_the_same_contrast(spherical, sites):
    from generator.corpus import load_mni152_anatomy

    anatomy_1mm = load_mni152_anatomy(1)
    assert anatomy_1mm.brain_mask.shape == (197, 233, 189)
    labels = spherical(anatomy_1mm, sites["right_wm"], 12.0)
    volumes = render_visit(anatomy_1mm, labels, engine="physics", subject_seed=4)
    t1n, t2f = volumes["t1n"], volumes["t2f"]
    assert t1n.shape == (197, 233, 189)
    wm, gm = (_mean(t1n, _pure(anatomy_1mm, labels, t)) for t in ("wm", "gm"))
    assert wm > gm
    assert _mean(t2f, labels == 2) > 1.4 * _mean(t2f, _pure(anatomy_1mm, labels, "wm"))


def test_age_adds_periventricular_white_matter_hyperintensity(anatomy, no_tumour):
    """Older subjects: WM next to the ventricles brighter on FLAIR; deep WM far away and
    subjects under the onset age are unchanged."""
    from scipy import ndimage

    from generator.engines.physics import (
        VENTRICLE_MIN_CSF,
        VENTRICLE_MIN_DEPTH_MM,
        WMH_ONSET_AGE_YEARS,
        wmh_fraction,
    )

    depth_mm = ndimage.distance_transform_edt(anatomy.brain_mask) * anatomy.voxel_size_mm
    ventricles = (anatomy.csf >= VENTRICLE_MIN_CSF) & (depth_mm >= VENTRICLE_MIN_DEPTH_MM)
    distance_mm = ndimage.distance_transform_edt(~ventricles) * anatomy.voxel_size_mm
    wm = anatomy.brain_mask & (anatomy.wm > 0.8)
    near, far = wm & (distance_mm <= 3.0), wm & (distance_mm >= 30.0)
    engine = PhysicsEngine()

    def flair(age):
        return render_visit(
            anatomy, no_tumour, engine=engine, subject_seed=5, sequences=["t2f"], age_years=age
        )["t2f"]

    unknown, young, old = flair(None), flair(WMH_ONSET_AGE_YEARS - 10), flair(80.0)
    assert wmh_fraction(None) == 0.0 and wmh_fraction(40.0) == 0.0 < wmh_fraction(80.0)
    assert np.array_equal(unknown, young)
    assert _mean(old, near) > 1.1 * _mean(unknown, near)
    assert _mean(old, far) == pytest.approx(_mean(unknown, far), rel=0.01)
