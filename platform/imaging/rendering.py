"""Rendering one visit of one subject: anatomy + label map -> one NIfTI per sequence + seg."""

import hashlib
from pathlib import Path

from django.conf import settings

from runs.label_store import read_subject_label_map
from runs.models import Subject

SEED_MODULUS = 2**31 - 1  # subject seeds fit a signed 32-bit integer


def subject_seed(*, run_seed: int, subject_index: int) -> int:
    """A stable per-subject image seed (noise texture, bias field) from the run seed and index."""
    digest = hashlib.sha256(f"{run_seed}:{subject_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_MODULUS


def volume_relpath(*, subject: Subject, visit: int, sequence: str, engine: str) -> str:
    return (
        f"runs/{subject.run_id}/volumes/{engine}/{subject.subject_id}/"
        f"{subject.subject_id}-v{visit:03d}-{sequence}.nii.gz"
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def render_visit_files(*, subject: Subject, visit: int, engine: str) -> dict[str, Path]:
    """Render every sequence and the segmentation of a visit; returns {sequence: file path}."""
    import generator
    import simulation

    label_map = read_subject_label_map(relpath=subject.label_map_path, visit=visit)
    anatomy = simulation.build_subject_anatomy(subject.anatomy_params)
    labels = label_map.to_full()
    volumes = generator.render_visit(
        anatomy,
        labels,
        engine=engine,
        subject_seed=subject_seed(run_seed=subject.run.seed, subject_index=subject.subject_index),
        sequences=generator.SEQUENCES,
        age_years=subject.age,
        sex=subject.sex,
    )
    media_root = Path(settings.MEDIA_ROOT)
    paths: dict[str, Path] = {}
    for sequence, data in volumes.items():
        path = media_root / volume_relpath(
            subject=subject, visit=visit, sequence=sequence, engine=engine
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        generator.write_volume(
            path,
            data,
            anatomy.affine,
            description=f"{subject.subject_id} visit {visit} {sequence} {engine}",
        )
        paths[sequence] = path
    seg_path = media_root / volume_relpath(
        subject=subject, visit=visit, sequence="seg", engine=engine
    )
    generator.write_segmentation(seg_path, labels, anatomy.affine)
    paths["seg"] = seg_path
    return paths
