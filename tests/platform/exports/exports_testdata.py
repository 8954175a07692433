"""A small, deterministic synthetic run for the export tests and benchmark.

Subjects, assessments and outcomes are drawn from a seeded generator so that they are
internally consistent the way the simulation's are: progression happens at an assessment (RANO
PD), PFS <= OS, visits stop at progression or death. Volumes come from nilearn's bundled MNI152
2 mm template (cropped, to stay small) with a spherical tumour whose radius follows the visit.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from exports import RunExportData
from exports.dates import DAYS_PER_MONTH

REGIMENS = ("stupp_rt_tmz", "rt_alone", "lomustine", "bevacizumab")
RACES = ("white", "black_or_african_american", "asian", "White", "other")
ETHNICITIES = ("not_hispanic_or_latino", "hispanic_or_latino")
VISIT_INTERVAL_DAYS = 56  # every 8 weeks (RANO, Wen 2010)
BASELINE_DAY = 2  # post-operative MRI within 48 h
FOLLOW_UP_MONTHS = 18
#: Crop of the 99 x 117 x 95 MNI152 2 mm grid around the brain (voxel index ranges).
CROP = (slice(17, 81), slice(20, 100), slice(22, 70))


def make_run_data(
    n_subjects: int = 6,
    *,
    seed: int = 20260101,
    with_diameters: bool = True,
    full_template: bool = False,
) -> RunExportData:
    rng = np.random.default_rng(seed)
    follow_up_day = int(round(FOLLOW_UP_MONTHS * DAYS_PER_MONTH))
    subjects, assessments = [], []
    for index in range(1, n_subjects + 1):
        subject_id = f"SCA-{index:06d}"
        regimen = REGIMENS[(index - 1) % len(REGIMENS)]
        visit_days = list(range(BASELINE_DAY, follow_up_day + 1, VISIT_INTERVAL_DAYS))
        progression_visit = int(rng.integers(1, min(6, len(visit_days))))
        progresses = rng.random() < 0.8
        pfs_day = visit_days[progression_visit] if progresses else follow_up_day
        dies = progresses and rng.random() < 0.7
        os_day = min(pfs_day + int(rng.integers(30, 200)), follow_up_day) if dies else follow_up_day
        dies = dies and os_day < follow_up_day
        last_visit = progression_visit if progresses else len(visit_days) - 1
        spd0 = float(rng.uniform(150.0, 900.0))
        responses = []
        for visit in range(last_visit + 1):
            day = visit_days[visit]
            if day > os_day:
                break
            shrink = 1.0 - 0.15 * min(visit, 3)
            spd = spd0 * (shrink if not (progresses and visit == progression_visit) else 1.6)
            response = (
                None
                if visit == 0
                else "PD"
                if progresses and visit == progression_visit
                else "PR"
                if shrink <= 0.55
                else "SD"
            )
            responses.append(response)
            ldiam = float(np.sqrt(spd * 1.3))
            row = {
                "subject_id": subject_id,
                "visit": visit,
                "day": day,
                "enhancing_ml": round(spd / 60.0, 3),
                "necrosis_ml": round(spd / 200.0, 3),
                "edema_ml": round(spd / 25.0, 3),
                "spd_mm2": round(spd, 2),
                "response": response,
            }
            if with_diameters:
                row["ldiam_mm"] = round(ldiam, 2)
                row["pdiam_mm"] = round(spd / ldiam, 2)
            assessments.append(row)
        best = "PR" if "PR" in responses else "SD" if "SD" in responses else "PD"
        subjects.append(
            {
                "subject_id": subject_id,
                "subject_index": index,
                "age": round(float(rng.uniform(30, 75)), 1),
                "sex": "M" if index % 3 else "F",
                "race": RACES[index % len(RACES)],
                "ethnicity": ETHNICITIES[index % 2],
                "kps": int(rng.choice([70, 80, 90, 100])),
                "mgmt_methylated": int(rng.random() < 0.45),
                "idh_mutant": int(rng.random() < 0.1),
                "resection": ("gtr", "str", "biopsy")[index % 3],
                "regimen": regimen,
                "os_months": os_day / DAYS_PER_MONTH,
                "os_event": int(dies),
                "pfs_months": pfs_day / DAYS_PER_MONTH,
                "pfs_event": int(progresses),
                "best_response": best,
            }
        )
    subjects_frame = pd.DataFrame(subjects)
    assessment_frame = pd.DataFrame(assessments)
    sizes = {
        (row.subject_id, int(row.visit)): float(row.spd_mm2)
        for row in assessment_frame.itertuples()
    }

    def label_map(subject_id: str, visit: int) -> tuple[np.ndarray, np.ndarray]:
        template, affine = _template(full_template)
        radius_vox = max(1.5, np.sqrt(sizes[(subject_id, visit)]) / 4.0)
        labels = _sphere_labels(template.shape, radius_vox, int(subject_id[-1]))
        labels[template <= 0] = 0
        return labels, affine

    def render_visit(
        subject_id: str, visit: int, sequences: Sequence[str], resolution_mm: float
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        template, affine = _template(full_template)
        labels, _ = label_map(subject_id, visit)
        contrast = {
            "t1n": (1.0, 0.0),
            "t1c": (1.0, 60.0),
            "t2w": (-0.6, 40.0),
            "t2f": (-0.3, 80.0),
        }
        out = {}
        for sequence in sequences:
            gain, tumour = contrast[sequence]
            volume = np.clip(gain * template + 60.0, 0.0, None) * (template > 0)
            volume = volume + tumour * (labels > 0)
            out[sequence] = (volume.astype(np.float32), affine)
        return out

    return RunExportData(
        spec={
            "trial_name": "GBM SCA demo",
            "seed": seed,
            "indication": "gbm_newly_diagnosed",
            "regimen": "stupp_rt_tmz",
            "size": n_subjects,
            "follow_up_months": FOLLOW_UP_MONTHS,
            "visit_interval_weeks": 8,
        },
        seed=seed,
        versions={
            "software": "0.1.0",
            "calibration": "stupp2005-v1",
            "generator": "physics-1.0",
            "checkpoint": "none",
        },
        subjects=subjects_frame,
        assessments=assessment_frame,
        render_visit=render_visit,
        label_map=label_map,
    )


@lru_cache(maxsize=2)
def _template(full: bool) -> tuple[np.ndarray, np.ndarray]:
    from nilearn.datasets import load_mni152_template

    crop = (slice(None),) * 3 if full else CROP
    image = load_mni152_template(resolution=2)
    data = np.asarray(image.get_fdata(), dtype=np.float32)[crop]
    affine = np.array(image.affine, dtype=np.float64)
    start = np.array([s.start or 0 for s in crop] + [1], dtype=np.float64)
    shifted = affine.copy()
    shifted[:3, 3] = (affine @ start)[:3]
    data.setflags(write=False)
    return data, shifted


def _sphere_labels(shape: tuple[int, ...], radius_vox: float, offset: int) -> np.ndarray:
    centre = np.array(shape) / 2.0 + np.array([offset % 5 - 2, 3, 2])
    grid = np.indices(shape, dtype=np.float32)
    distance = np.sqrt(sum((grid[axis] - centre[axis]) ** 2 for axis in range(3)))
    labels = np.zeros(shape, dtype=np.uint8)
    labels[distance <= radius_vox * 1.8] = 2  # oedema
    labels[distance <= radius_vox] = 3  # enhancing rim
    labels[distance <= radius_vox * 0.5] = 1  # necrotic core
    return labels
