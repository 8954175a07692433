"""A succeeded run as the export library's `RunExportData`: tables from the database, volumes
rendered on demand by the generator (deterministic, so identical to the viewer's cached files)."""

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from runs.label_store import read_subject_label_map
from runs.models import SimulationRun, Subject
from runs.selectors import assessments_frame, subjects_frame

from .inputs import RunExportData

EXPORT_ENGINE = "physics"
BOOLEAN_COLUMNS = ("mgmt_methylated", "idh_mutant", "os_event", "pfs_event")


def run_versions(run: SimulationRun) -> dict[str, str]:
    import generator

    return {
        "software": run.software_version,
        "calibration": run.calibration_version,
        "checkpoint": run.checkpoint_version,
        "generator": str(getattr(generator, "__version__", "")),
        "generator_engine": EXPORT_ENGINE,
    }


def _on_grid(
    data: np.ndarray, affine: np.ndarray, resolution_mm: float, *, order: int
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a volume onto the MNI152 grid of another resolution (1 mm <-> 2 mm)."""
    import nibabel as nib
    from nibabel.processing import resample_from_to
    from nilearn import datasets

    if np.allclose(np.abs(np.diag(affine)[:3]), resolution_mm):
        return data, affine
    target = datasets.load_mni152_brain_mask(resolution=int(resolution_mm))

    source = nib.Nifti1Image(np.asarray(data, dtype=np.float32), affine)
    resampled = resample_from_to(source, (target.shape, target.affine), order=order)
    out = np.asarray(resampled.dataobj)
    return (out.round().astype(data.dtype) if order == 0 else out.astype(np.float32)), target.affine


def run_export_data(run: SimulationRun, *, resolution_mm: float) -> RunExportData:
    """``resolution_mm``: the grid of the exported images (the run's own, or resampled to it)."""
    from imaging.rendering import subject_seed

    subjects = subjects_frame(run=run)
    for column in BOOLEAN_COLUMNS:
        subjects[column] = subjects[column].astype(int)
    records = {
        s.subject_id: s
        for s in Subject.objects.filter(run=run).only(
            "subject_id", "subject_index", "age", "sex", "anatomy_params", "label_map_path"
        )
    }

    @lru_cache(maxsize=2)
    def anatomy_of(subject_id: str):  # noqa: ANN202 - simulation.SubjectAnatomy
        import simulation

        return simulation.build_subject_anatomy(records[subject_id].anatomy_params)

    def labels_native(subject_id: str, visit: int) -> tuple[np.ndarray, np.ndarray]:
        stored = read_subject_label_map(relpath=records[subject_id].label_map_path, visit=visit)
        return stored.to_full(), np.asarray(stored.affine, dtype=np.float64)

    def label_map(subject_id: str, visit: int) -> tuple[np.ndarray, np.ndarray]:
        labels, affine = labels_native(subject_id, visit)
        return _on_grid(labels, affine, resolution_mm, order=0)

    def render_visit(
        subject_id: str, visit: int, sequences: Sequence[str], grid_mm: float
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        import generator

        subject = records[subject_id]
        anatomy = anatomy_of(subject_id)
        labels, _ = labels_native(subject_id, visit)
        volumes = generator.render_visit(
            anatomy,
            labels,
            engine=EXPORT_ENGINE,
            subject_seed=subject_seed(run_seed=run.seed, subject_index=subject.subject_index),
            sequences=tuple(sequences),
            age_years=subject.age,
            sex=subject.sex,
        )
        return {
            sequence: _on_grid(volume, anatomy.affine, grid_mm, order=1)
            for sequence, volume in volumes.items()
        }

    return RunExportData(
        spec={**run.spec.data, "trial_name": run.trial.name},
        seed=run.seed,
        versions=run_versions(run),
        subjects=subjects,
        assessments=assessments_frame(run=run),
        render_visit=render_visit,
        label_map=label_map,
    )
