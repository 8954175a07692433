"""Cohort API: columns, chunk invariance, determinism, growing cohorts, label maps."""

import numpy as np
import pandas as pd
import pytest

from simulation import CroppedLabelMap, parse_spec, simulate_subjects
from simulation.cohort import ASSESSMENT_COLUMNS, SUBJECT_COLUMNS

REQUIRED_SUBJECT_COLUMNS = [
    "subject_id",
    "subject_index",
    "age",
    "sex",
    "race",
    "ethnicity",
    "kps",
    "mgmt_methylated",
    "idh_mutant",
    "resection",
    "regimen",
    "os_months",
    "os_event",
    "pfs_months",
    "pfs_event",
    "best_response",
]
REQUIRED_VISIT_COLUMNS = [
    "subject_id",
    "visit",
    "day",
    "enhancing_ml",
    "necrosis_ml",
    "edema_ml",
    "spd_mm2",
    "response",
]


def test_chunk_has_the_contract_columns(small_chunk, small_spec):
    subjects, visits = small_chunk.subjects, small_chunk.assessments
    assert list(subjects.columns[:16]) == REQUIRED_SUBJECT_COLUMNS
    assert set(REQUIRED_VISIT_COLUMNS) <= set(visits.columns)
    assert list(subjects.subject_id) == [f"SCA-{i + 1:06d}" for i in range(small_spec.size)]
    assert set(subjects.sex) <= {"M", "F"}
    assert set(subjects.mgmt_methylated) <= {0, 1} and set(subjects.idh_mutant) <= {0, 1}
    assert set(subjects.resection) <= {"gtr", "str", "biopsy"}
    assert set(subjects.best_response) <= {"CR", "PR", "SD", "PD", "NE"}
    assert set(visits.response) <= {"CR", "PR", "SD", "PD", "NE"}
    assert (subjects.pfs_months <= subjects.os_months + 1e-9).all()
    assert (subjects.os_months <= small_spec.follow_up_months + 1e-9).all()


def test_visits_start_with_the_post_operative_baseline(small_chunk):
    visits = small_chunk.assessments
    for _, group in visits.groupby("subject_id"):
        assert group.visit.tolist() == list(range(len(group)))
        assert group.day.iloc[0] == 0 and group.response.iloc[0] == "NE"
        assert group.day.is_monotonic_increasing


def test_label_maps_are_cropped_brats_maps_matching_the_volumes(small_chunk):
    visits = small_chunk.assessments.set_index(["subject_id", "visit"])
    assert set(small_chunk.label_maps) == set(visits.index)
    for key, cropped in small_chunk.label_maps.items():
        assert isinstance(cropped, CroppedLabelMap)
        assert cropped.labels.dtype == np.uint8
        assert set(np.unique(cropped.labels)) <= {0, 1, 2, 3}
        assert cropped.grid_shape == (99, 117, 95)
        full = cropped.to_full()
        assert full.shape == (99, 117, 95) and full.dtype == np.uint8
        assert (full > 0).sum() == (cropped.labels > 0).sum()
        enhancing_ml = (cropped.labels == 3).sum() * 0.008
        assert visits.loc[key, "enhancing_ml"] == pytest.approx(enhancing_ml)
    first = next(iter(small_chunk.label_maps.values()))
    assert first.affine.shape == (4, 4) and first.affine.dtype == np.float64


def test_tumours_are_visible_and_sit_in_the_brain(small_chunk):
    import json

    from simulation import build_subject_anatomy

    sid = small_chunk.subjects.subject_id.iloc[0]
    params = json.loads(json.dumps(small_chunk.anatomy_params[sid]))
    anatomy = build_subject_anatomy(params)
    labels = small_chunk.label_maps[(sid, 0)].to_full()
    assert (labels > 0).sum() > 100
    assert anatomy.brain_mask[labels > 0].mean() > 0.99


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True
    )


def test_a_subject_is_identical_in_any_chunk(small_chunk, small_spec):
    part = simulate_subjects(small_spec, [5, 2])
    whole = small_chunk.subjects.set_index("subject_index")
    _frames_equal(part.subjects, whole.loc[[5, 2]].reset_index()[list(SUBJECT_COLUMNS)])
    for key, cropped in part.label_maps.items():
        other = small_chunk.label_maps[key]
        assert cropped.origin == other.origin
        assert np.array_equal(cropped.labels, other.labels)
    assert part.anatomy_params["SCA-000003"] == small_chunk.anatomy_params["SCA-000003"]


def test_growing_the_cohort_keeps_the_subjects_already_drawn(small_spec, small_chunk):
    bigger = parse_spec({**small_spec.to_dict(), "size": 12})
    chunk = simulate_subjects(bigger, [0, 1])
    _frames_equal(chunk.subjects, small_chunk.subjects.iloc[:2])
    visits = small_chunk.assessments[
        small_chunk.assessments.subject_id.isin(["SCA-000001", "SCA-000002"])
    ]
    _frames_equal(chunk.assessments[list(ASSESSMENT_COLUMNS)], visits)


def test_progress_is_reported_per_subject(small_spec):
    calls = []
    simulate_subjects(small_spec, [0, 1], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]


def test_bad_indices_and_devices_are_rejected(small_spec):
    with pytest.raises(ValueError, match="outside the cohort"):
        simulate_subjects(small_spec, [small_spec.size])
    with pytest.raises(ValueError, match="device"):
        simulate_subjects(small_spec, [0], device="tpu")


@pytest.mark.parametrize("regimen", ["lomustine", "bevacizumab"])
def test_recurrent_regimens_run(regimen):
    spec = parse_spec(
        {
            "size": 2,
            "seed": 3,
            "indication": "gbm_recurrent",
            "regimen": regimen,
            "follow_up_months": 6,
            "visit_interval_weeks": 6,
        }
    )
    chunk = simulate_subjects(spec, [0, 1])
    assert (chunk.subjects.regimen == regimen).all()
    assert chunk.assessments.groupby("subject_id").size().min() >= 1


def test_bevacizumab_shrinks_visible_enhancement_and_oedema():
    """Pseudo-response: the same patients, on bevacizumab vs a (near-)inactive drug."""
    base = {
        "size": 3,
        "seed": 8,
        "indication": "gbm_recurrent",
        "follow_up_months": 2,
        "visit_interval_weeks": 4,
    }
    placebo = {
        "indication": "gbm_recurrent",
        "drugs": [{"drug": "lomustine", "dose": 0.001, "dose_unit": "mg/m2", "start_day": 0}],
    }
    bev = simulate_subjects(parse_spec({**base, "regimen": "bevacizumab"}), [0, 1, 2])
    ctl = simulate_subjects(
        parse_spec({**base, "regimen": "placebo", "regimens": {"placebo": placebo}}), [0, 1, 2]
    )
    first_bev = bev.assessments[bev.assessments.visit == 1].reset_index()
    first_ctl = ctl.assessments[ctl.assessments.visit == 1].reset_index()
    assert (first_bev.enhancing_ml < first_ctl.enhancing_ml).all()

    def flair_ml(frame):
        return frame.edema_ml + frame.enhancing_ml + frame.necrosis_ml

    assert (flair_ml(first_bev) < flair_ml(first_ctl)).all()
