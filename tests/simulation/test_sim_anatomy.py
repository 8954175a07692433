import numpy as np
import pytest

from simulation import build_subject_anatomy
from simulation.anatomy import draw_anatomy_params, load_template, tissue_region


@pytest.fixture(scope="module")
def params():
    return draw_anatomy_params(np.random.default_rng(3), age_years=60)


@pytest.fixture(scope="module")
def anatomy(params):
    return build_subject_anatomy(params)


def test_anatomy_is_on_the_mni_grid(anatomy):
    template = load_template(2)
    assert anatomy.gm.shape == (99, 117, 95)
    assert anatomy.voxel_size_mm == 2.0
    assert np.array_equal(anatomy.affine, template.affine)
    assert anatomy.affine.dtype == np.float64
    for tissue in (anatomy.gm, anatomy.wm, anatomy.csf):
        assert tissue.dtype == np.float32
        assert tissue.min() >= 0 and tissue.max() <= 1
    assert anatomy.brain_mask.dtype == bool
    total = anatomy.gm + anatomy.wm + anatomy.csf
    assert np.allclose(total[anatomy.brain_mask], 1, atol=1e-5)
    assert np.all(total[~anatomy.brain_mask] == 0)


def test_rebuild_is_deterministic_and_json_parameters_suffice(params, anatomy):
    import json

    again = build_subject_anatomy(json.loads(json.dumps(params)))
    assert np.array_equal(again.gm, anatomy.gm) and np.array_equal(again.csf, anatomy.csf)


def test_region_equals_the_same_part_of_the_full_rebuild(params, anatomy):
    lo, hi = (20, 30, 25), (60, 70, 55)
    gm, wm, csf, mask = tissue_region(params, lo, hi)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    assert np.array_equal(gm, anatomy.gm[box])
    assert np.array_equal(wm, anatomy.wm[box])
    assert np.array_equal(mask, anatomy.brain_mask[box])


def test_tumour_seed_lies_in_white_matter(params, anatomy):
    i, j, k = params["tumour_seed_voxel"]
    assert anatomy.wm[i, j, k] >= 0.5
    assert params["lobe"] in {"frontal", "temporal", "parietal", "occipital", "deep"}


def test_older_subjects_have_more_csf_and_head_size_varies():
    rng_young, rng_old = np.random.default_rng(9), np.random.default_rng(9)
    young = draw_anatomy_params(rng_young, age_years=30)
    old = draw_anatomy_params(rng_old, age_years=75)
    assert old["atrophy_fraction"] > young["atrophy_fraction"] == 0
    csf_young = build_subject_anatomy(young).csf.sum()
    csf_old = build_subject_anatomy(old).csf.sum()
    assert csf_old > csf_young * 1.05
    scales = {
        draw_anatomy_params(np.random.default_rng(s), age_years=50)["head_scale"] for s in range(5)
    }
    assert len(scales) == 5 and all(0.9 <= s <= 1.08 for s in scales)
