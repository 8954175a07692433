"""The optional 1 mm grid: a small cohort runs and its label maps live on the 1 mm MNI grid."""

import nibabel as nib
import numpy as np
import pytest

from simulation import parse_spec, run_cohort, simulate_subjects
from simulation.anatomy import load_template

SPEC_1MM = {
    "size": 2,
    "seed": 21,
    "indication": "gbm_recurrent",
    "regimen": "lomustine",
    "follow_up_months": 2,
    "visit_interval_weeks": 4,
    "imaging": {"resolution_mm": 1},
}


@pytest.fixture(scope="module")
def cohort_1mm(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim1mm") / "run"
    return run_cohort(parse_spec(SPEC_1MM), out)


def test_a_1mm_cohort_runs_and_writes_1mm_label_maps(cohort_1mm):
    template = load_template(1)
    assert template.mask.shape == (197, 233, 189)
    files = sorted(cohort_1mm.glob("labels/*/*_seg.nii.gz"))
    assert len(files) >= 2 * 2  # two subjects, baseline and at least one follow-up each
    for path in files:
        image = nib.load(path)
        assert image.shape == (197, 233, 189)
        assert np.array_equal(image.affine, template.affine)
        assert np.allclose(np.abs(np.diag(image.affine)[:3]), 1.0)
        assert image.header.get_zooms() == (1.0, 1.0, 1.0)
        assert int(image.header["sform_code"]) == 4
    assert any(np.asarray(nib.load(p).dataobj).max() > 0 for p in files)


def test_1mm_volumes_are_counted_in_1mm_voxels():
    chunk = simulate_subjects(parse_spec(SPEC_1MM), [0])
    visit0 = chunk.assessments.iloc[0]
    labels = chunk.label_maps[("SCA-000001", 0)].labels
    assert visit0.enhancing_ml == pytest.approx(np.count_nonzero(labels == 3) / 1000.0)
    assert chunk.label_maps[("SCA-000001", 0)].grid_shape == (197, 233, 189)
