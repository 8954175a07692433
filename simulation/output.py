"""Writing a cohort to disk: CSVs, per-visit NIfTI label maps, anatomy parameters, manifest.

Everything is written into a temporary directory beside the destination, which is renamed into
place at the end, so an interrupted or failed run leaves no partial output. Bytes are reproducible:
fixed float formats, sorted JSON keys, gzip with mtime=0.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from simulation.calibration import CALIBRATION_VERSION
from simulation.cohort import (
    ASSESSMENT_COLUMNS,
    SUBJECT_COLUMNS,
    resolve_backend,
    simulate_subjects,
)
from simulation.labelmap import CroppedLabelMap
from simulation.parallel import worker_pool
from simulation.spec import CohortSpec, parse_spec
from simulation.version import SOFTWARE_VERSION

CSV_FLOAT_FORMAT = "%.4f"
MNI_XFORM_CODE = 4  # NIfTI xform code "MNI_152"
GZIP_LEVEL = 6
CHUNK_SIZE = 8  # subjects per unit of work (numba backend; torch: one batch per chunk)


def nifti_gz_bytes(labels: np.ndarray, affine: np.ndarray) -> bytes:
    """A deterministic .nii.gz of a uint8 label volume in MNI space."""
    image = nib.Nifti1Image(np.asarray(labels, dtype=np.uint8), affine)
    image.header.set_data_dtype(np.uint8)
    image.set_sform(affine, code=MNI_XFORM_CODE)
    image.set_qform(affine, code=MNI_XFORM_CODE)
    image.header["descrip"] = b"BraTS labels 1 NCR 2 ED 3 ET"
    return gzip.compress(image.to_bytes(), compresslevel=GZIP_LEVEL, mtime=0)


def label_path(subject_id: str, visit: int) -> str:
    return f"labels/{subject_id}/{subject_id}_visit-{visit:02d}_seg.nii.gz"


def write_subject_files(
    root: Path,
    label_maps: dict[tuple[str, int], CroppedLabelMap],
    anatomy_params: dict[str, dict[str, Any]],
) -> None:
    for subject_id, params in anatomy_params.items():
        path = root / "anatomy" / f"{subject_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(params, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    for (subject_id, visit), cropped in label_maps.items():
        path = root / label_path(subject_id, visit)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(nifti_gz_bytes(cropped.to_full(), cropped.affine))


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunk_worker(
    spec_dict: dict[str, Any], indices: list[int], root: str, device: str, backend: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = parse_spec(spec_dict)
    chunk = simulate_subjects(spec, indices, device=device, backend=backend)
    write_subject_files(Path(root), chunk.label_maps, chunk.anatomy_params)
    return chunk.subjects, chunk.assessments


def run_cohort(
    spec: CohortSpec,
    out_dir: str | os.PathLike[str],
    *,
    device: str = "cpu",
    backend: str | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Simulate the whole cohort and write it to ``out_dir`` (which must not exist or be empty).

    The bytes written do not depend on ``workers`` or on the chunking; they do depend on the
    backend only where the backends differ (on the CPU they agree exactly).
    """
    if workers < 1:
        raise ValueError("workers must be >= 1")
    backend = resolve_backend(device, backend)
    if backend == "torch":
        from simulation.torch_backend import DEFAULT_BATCH_SIZE

        chunk_size = DEFAULT_BATCH_SIZE[device]
    else:
        chunk_size = CHUNK_SIZE
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: output directory already exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        chunks = [
            list(range(start, min(start + chunk_size, spec.size)))
            for start in range(0, spec.size, chunk_size)
        ]
        subjects: list[pd.DataFrame] = []
        assessments: list[pd.DataFrame] = []
        done = 0
        if workers == 1:
            for indices in chunks:
                frames = _chunk_worker(spec.to_dict(), indices, str(tmp), device, backend)
                subjects.append(frames[0])
                assessments.append(frames[1])
                done += len(indices)
                if progress is not None:
                    progress(done, spec.size)
        else:
            with worker_pool(workers) as pool:
                futures = {
                    pool.submit(
                        _chunk_worker, spec.to_dict(), indices, str(tmp), device, backend
                    ): indices
                    for indices in chunks
                }
                for future in as_completed(futures):
                    frames = future.result()
                    subjects.append(frames[0])
                    assessments.append(frames[1])
                    done += len(futures[future])
                    if progress is not None:
                        progress(done, spec.size)
        subject_frame = (
            pd.concat(subjects, ignore_index=True)
            .sort_values("subject_index", kind="stable")
            .reset_index(drop=True)[list(SUBJECT_COLUMNS)]
        )
        visit_frame = (
            pd.concat(assessments, ignore_index=True)
            .sort_values(["subject_id", "visit"], kind="stable")
            .reset_index(drop=True)[list(ASSESSMENT_COLUMNS)]
        )
        (tmp / "subjects.csv").write_bytes(_csv_bytes(subject_frame))
        (tmp / "assessments.csv").write_bytes(_csv_bytes(visit_frame))
        files = sorted(
            path.relative_to(tmp).as_posix() for path in tmp.rglob("*") if path.is_file()
        )
        manifest = {
            "software_version": SOFTWARE_VERSION,
            "calibration_version": CALIBRATION_VERSION,
            "seed": spec.seed,
            "spec": spec.to_dict(),
            "growth": {"backend": backend, "device": device},
            "files": {name: _sha256(tmp / name) for name in files},
        }
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
