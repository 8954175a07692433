"""Directory-level jobs: render a simulation output directory, make a training corpus.

Both write BraTS 2023 layout (``BraTS-GLI-SSSSS-VVV/BraTS-GLI-SSSSS-VVV-{t1n,...,seg}.nii.gz``)
into a temporary sibling directory that is renamed into place at the end, so an interrupted job
never leaves a half-written output directory. Both write a ``manifest.json`` (sorted keys) with
the engine, its version and the SHA-256 of every file.

Simulation output layout read by ``render_simulation_dir``::

    DIR/manifest.json                 # any JSON object; an integer "seed" feeds subject seeds
    DIR/subjects.csv                  # subject_id, age, sex (optional column: seed)
    DIR/anatomy/<subject_id>.json     # params for simulation.build_subject_anatomy
    DIR/labels/<subject_id>/<subject_id>_visit-<VV>_seg.nii.gz
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from scipy import ndimage
from tqdm import tqdm

from generator.engine import (
    SEQUENCES,
    Anatomy,
    Engine,
    GeneratorInputError,
    check_same_grid,
    get_engine,
    render_visit,
    validate_anatomy,
)
from generator.nifti import (
    NiftiReadError,
    Space,
    brats_case_id,
    brats_filename,
    pow2_slope,
    read_segmentation,
    write_segmentation,
    write_volume,
)

__all__ = [
    "AnatomyBuilder",
    "TemplateAnatomy",
    "default_anatomy_builder",
    "load_mni152_anatomy",
    "make_corpus",
    "render_simulation_dir",
    "synthetic_tumour",
]

#: Intensity range that fixes the int16 slope of rendered volumes (power of two >= range/32767:
#: 0.25 for the physics engine, whose volumes stay below ~5000), so that every visit of a
#: subject shares one quantisation grid; larger volumes get a larger slope automatically.
CASE_INTENSITY_RANGE = 8191.0

#: Permissions of the output directory (mkdtemp would leave 0700).
DIRECTORY_MODE = 0o755

AnatomyBuilder = Callable[[Mapping[str, Any]], Anatomy]

#: Resolutions at which nilearn ships (or resamples) the MNI152 2009a templates.
MNI152_RESOLUTIONS_MM: tuple[int, ...] = (1, 2)


# --------------------------------------------------------------------------- template anatomy


@dataclass(frozen=True, eq=False)
class TemplateAnatomy:
    """Anatomy on the MNI152 grid, satisfying ``generator.engine.Anatomy``."""

    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    brain_mask: np.ndarray
    affine: np.ndarray
    voxel_size_mm: float
    space: str = field(default="mni")


@functools.lru_cache(maxsize=2)
def load_mni152_anatomy(resolution_mm: int = 2) -> TemplateAnatomy:
    """MNI152 (ICBM 2009a) anatomy from nilearn's bundled templates; CSF = mask - GM - WM.

    2 mm gives 99x117x95 voxels, 1 mm 197x233x189. Cached: the result must not be modified.
    """
    if resolution_mm not in MNI152_RESOLUTIONS_MM:
        raise GeneratorInputError(
            f"resolution_mm: {resolution_mm} not available (choices: {MNI152_RESOLUTIONS_MM})"
        )
    from nilearn.datasets import (
        load_mni152_brain_mask,
        load_mni152_gm_template,
        load_mni152_wm_template,
    )

    mask_img = load_mni152_brain_mask(resolution=resolution_mm)
    # nibabel hands out Fortran-ordered arrays; C order keeps flat indices cache-friendly.
    mask = np.ascontiguousarray(np.asarray(mask_img.dataobj) > 0)
    gm, wm = (
        np.ascontiguousarray(np.asarray(loader(resolution=resolution_mm).dataobj, np.float32))
        for loader in (load_mni152_gm_template, load_mni152_wm_template)
    )
    gm = np.where(mask, np.clip(gm, 0.0, 1.0), 0.0).astype(np.float32, order="C")
    wm = np.where(mask, np.clip(wm, 0.0, 1.0), 0.0).astype(np.float32, order="C")
    total = gm + wm
    over = total > 1.0
    gm[over] /= total[over]
    wm[over] /= total[over]
    csf = np.where(mask, np.clip(1.0 - gm - wm, 0.0, 1.0), 0.0).astype(np.float32, order="C")
    for array in (gm, wm, csf, mask):
        array.setflags(write=False)
    affine = np.asarray(mask_img.affine, dtype=np.float64)
    affine.setflags(write=False)
    return TemplateAnatomy(
        gm=gm, wm=wm, csf=csf, brain_mask=mask, affine=affine, voxel_size_mm=float(resolution_mm)
    )


def default_anatomy_builder(params: Mapping[str, Any]) -> Anatomy:
    """Anatomy for ``anatomy/<id>.json`` params.

    ``{"template": "mni152", "resolution_mm": 1|2}`` and nothing else is the plain MNI152
    anatomy (no simulation needed); anything else goes to
    ``simulation.build_subject_anatomy(params)``.
    """
    if params.get("template") == "mni152" and set(params) <= {"template", "resolution_mm"}:
        return load_mni152_anatomy(int(params.get("resolution_mm", 2)))
    try:
        from simulation import build_subject_anatomy  # type: ignore[attr-defined]
    except ImportError:
        raise GeneratorInputError(
            "anatomy: the simulation package (simulation.build_subject_anatomy) is not "
            "available to build this anatomy"
        ) from None
    return build_subject_anatomy(params)


# --------------------------------------------------------------------------- synthetic tumours

#: Synthetic tumour core (necrosis + enhancing) equivalent radius range, mm: BraTS-like lesions
#: of ~2-50 ml.
TUMOUR_RADIUS_MM = (8.0, 22.0)
#: Necrotic core radius as a fraction of the core radius.
NECROSIS_RATIO = (0.35, 0.7)
#: Oedema extent in white matter as a multiple of the core radius (less in grey matter).
OEDEMA_RATIO = (1.4, 2.2)
#: Relative amplitude of the smooth shape perturbation of every boundary.
SHAPE_IRREGULARITY = 0.15
#: A candidate centre must be white matter at least this probable.
CENTRE_MIN_WM = 0.6


@functools.lru_cache(maxsize=2)
def _brain_depth_mm(anatomy: TemplateAnatomy) -> np.ndarray:
    return ndimage.distance_transform_edt(anatomy.brain_mask) * anatomy.voxel_size_mm


def synthetic_tumour(anatomy: Anatomy, rng: np.random.Generator) -> np.ndarray:
    """A random glioblastoma-like label map: ellipsoidal enhancing rim around a necrotic core
    with an oedema shell that extends further in white matter, centred in deep white matter."""
    voxel_mm = float(anatomy.voxel_size_mm)
    shape = np.shape(anatomy.brain_mask)
    radius_mm = float(rng.uniform(*TUMOUR_RADIUS_MM))
    oedema_ratio = float(rng.uniform(*OEDEMA_RATIO))
    necrosis_ratio = float(rng.uniform(*NECROSIS_RATIO))
    depth_mm = (
        _brain_depth_mm(anatomy)
        if isinstance(anatomy, TemplateAnatomy)
        else ndimage.distance_transform_edt(anatomy.brain_mask) * voxel_mm
    )
    wm = np.asarray(anatomy.wm)
    candidates = np.flatnonzero((wm.ravel() >= CENTRE_MIN_WM) & (depth_mm.ravel() > radius_mm))
    if candidates.size == 0:
        candidates = np.flatnonzero(depth_mm.ravel() >= depth_mm.max())
    centre = np.array(np.unravel_index(int(rng.choice(candidates)), shape), dtype=np.float64)

    # Random rotation and semi-axes of the ellipsoid (normalised radius q = 1 at the core edge).
    rotation, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    semi_axes_mm = radius_mm * rng.uniform(0.75, 1.3, 3)
    reach_vox = int(math.ceil(radius_mm * 1.3 * max(oedema_ratio, 1.0) * 1.2 / voxel_mm)) + 1
    lo = np.maximum(centre.astype(int) - reach_vox, 0)
    hi = np.minimum(centre.astype(int) + reach_vox + 1, shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    grids = np.meshgrid(*[np.arange(s.start, s.stop) for s in box], indexing="ij")
    offset_mm = np.stack([(g - c) * voxel_mm for g, c in zip(grids, centre, strict=True)], axis=-1)
    local = offset_mm @ rotation
    q = np.sqrt(((local / semi_axes_mm) ** 2).sum(axis=-1))

    # Smooth multiplicative perturbation of the boundaries.
    coarse = rng.standard_normal((5, 5, 5))
    zoom = [n / 5 for n in q.shape]
    wobble = ndimage.zoom(coarse, zoom, order=3, mode="nearest")[: q.shape[0], : q.shape[1]]
    wobble = wobble[:, :, : q.shape[2]]
    wobble /= max(float(np.abs(wobble).max()), 1e-6)
    q = q * (1.0 + SHAPE_IRREGULARITY * wobble)

    mask = np.asarray(anatomy.brain_mask)[box]
    wm_box = wm[box]
    csf_box = np.asarray(anatomy.csf)[box]
    oedema_limit = 1.0 + (oedema_ratio - 1.0) * (0.3 + 0.7 * wm_box)
    sub = np.zeros(q.shape, dtype=np.uint8)
    sub[(q < oedema_limit) & (csf_box < 0.5)] = 2
    sub[q < 1.0] = 3
    sub[q < necrosis_ratio] = 1
    sub[~mask] = 0
    labels = np.zeros(shape, dtype=np.uint8)
    labels[box] = sub
    return labels


# --------------------------------------------------------------------------- output helpers


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@contextmanager
def _staged_directory(out_dir: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary sibling of ``out_dir``; on success it replaces ``out_dir``."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise GeneratorInputError(f"{out_dir}: output exists and is not empty (use --overwrite)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    os.chmod(staging, DIRECTORY_MODE)  # mkdtemp creates 0700
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out_dir.exists():
        trash = Path(
            tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent)
        )
        os.replace(out_dir, trash / "old")
        os.replace(staging, out_dir)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, out_dir)


def _write_case(
    case_dir: Path,
    subject_number: int,
    visit: int,
    volumes: Mapping[str, np.ndarray],
    labels: np.ndarray,
    affine: np.ndarray,
    *,
    engine: Engine,
    subject_seed: int,
    space: Space,
) -> dict[str, str]:
    case_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for sequence, volume in volumes.items():
        # One quantisation grid for every visit: equal floats stay equal on disk.
        slope = pow2_slope(max(float(np.abs(volume).max()), CASE_INTENSITY_RANGE))
        name = brats_filename(subject_number, visit, sequence)
        description = f"{engine.name} {engine.version} {sequence} seed={subject_seed}"
        write_volume(
            case_dir / name,
            volume,
            affine,
            description=description[:80],
            aux_file=f"{engine.name}-{sequence}"[:24],
            space=space,
            slope=slope,
        )
        files[name] = _sha256(case_dir / name)
    seg_name = brats_filename(subject_number, visit, "seg")
    write_segmentation(case_dir / seg_name, labels, affine, space=space)
    files[seg_name] = _sha256(case_dir / seg_name)
    return files


def _resolve_engine(engine: Engine | str) -> Engine:
    return get_engine(engine) if isinstance(engine, str) else engine


def _subject_seed(root_seed: int, index: int) -> int:
    """Independent per-subject seed: adding subjects never changes earlier ones."""
    return int(np.random.SeedSequence([root_seed, index]).generate_state(1, dtype=np.uint32)[0])


# --------------------------------------------------------------------------- make-corpus


#: Cohort the corpus subjects are drawn from (simulation spec, minus size/seed/resolution):
#: newly diagnosed GBM on the Stupp regimen; the corpus uses each subject's baseline visit, so
#: a short follow-up keeps the simulation cheap without changing the baseline label map.
CORPUS_SPEC: dict[str, Any] = {
    "indication": "gbm_newly_diagnosed",
    "regimen": "stupp_rt_tmz",
    "follow_up_months": 3,
}
#: Cohort size the corpus subjects are indexed in: subject i depends on (seed, i) only, so a
#: corpus of n subjects is a prefix of every larger one.
CORPUS_COHORT_SIZE = 99999
#: Visit of each simulated subject written to the corpus (the pre-treatment baseline).
CORPUS_VISIT = 0


def make_corpus(
    out_dir: str | os.PathLike[str],
    *,
    n: int,
    seed: int,
    resolution_mm: int = 2,
    engine: Engine | str = "physics",
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write ``n`` simulated BraTS cases (4 sequences + seg, timepoint 000) to ``out_dir``.

    Subject ``i`` (``BraTS-GLI-{i:05d}-000``) is subject ``i`` of the simulated cohort
    ``CORPUS_SPEC`` with this seed: its anatomy (``simulation.build_subject_anatomy``: warped,
    age-atrophied MNI152), its baseline label map from the growth model, and its age and sex
    (written to ``participants.tsv``, the covariates ``train`` reads). The engine renders it
    with a subject seed derived from ``(seed, i)``. Same arguments and versions: same bytes.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise GeneratorInputError(f"n: number of subjects must be a positive integer, got {n!r}")
    if n > CORPUS_COHORT_SIZE:
        raise GeneratorInputError(f"n: {n} exceeds the BraTS subject range ({CORPUS_COHORT_SIZE})")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise GeneratorInputError(f"seed: must be a non-negative integer, got {seed!r}")
    if resolution_mm not in MNI152_RESOLUTIONS_MM:
        raise GeneratorInputError(
            f"resolution_mm: {resolution_mm} not available (choices: {MNI152_RESOLUTIONS_MM})"
        )
    engine = _resolve_engine(engine)
    from simulation import (
        CALIBRATION_VERSION,
        SOFTWARE_VERSION,
        build_subject_anatomy,
        parse_spec,
        simulate_subjects,
    )

    spec = parse_spec(
        {
            **CORPUS_SPEC,
            "size": CORPUS_COHORT_SIZE,
            "seed": seed,
            "imaging": {"resolution_mm": resolution_mm},
        }
    )
    out_dir = Path(out_dir)
    cases = []
    participants = ["case_id\tsubject_id\tage\tsex"]
    with _staged_directory(out_dir, overwrite=overwrite) as staging:
        for index in tqdm(range(n), desc="make-corpus", unit="case", disable=not progress):
            chunk = simulate_subjects(spec, [index])
            row = chunk.subjects.iloc[0]
            subject_id = str(row["subject_id"])
            age_years, sex = float(row["age"]), str(row["sex"])
            anatomy = build_subject_anatomy(chunk.anatomy_params[subject_id])
            cropped = chunk.label_maps[(subject_id, CORPUS_VISIT)]
            labels = cropped.to_full()
            subject_seed = _subject_seed(seed, index)
            volumes = render_visit(
                anatomy,
                labels,
                engine=engine,
                subject_seed=subject_seed,
                age_years=age_years,
                sex=sex,
                labels_affine=cropped.affine,
            )
            case_id = brats_case_id(index, 0)
            files = _write_case(
                staging / case_id,
                index,
                0,
                volumes,
                labels,
                np.asarray(anatomy.affine),
                engine=engine,
                subject_seed=subject_seed,
                space="mni",
            )
            participants.append(f"{case_id}\t{subject_id}\t{age_years:g}\t{sex}")
            cases.append(
                {
                    "case_id": case_id,
                    "subject_id": subject_id,
                    "subject_seed": subject_seed,
                    "visit": CORPUS_VISIT,
                    "files": files,
                }
            )
        (staging / "participants.tsv").write_text("\n".join(participants) + "\n", "utf-8")
        _write_json(
            staging / "manifest.json",
            {
                "kind": "generator-corpus",
                "engine": engine.name,
                "engine_version": engine.version,
                "n": n,
                "seed": seed,
                "resolution_mm": resolution_mm,
                "anatomy": "simulation.build_subject_anatomy (MNI152 2009a, nilearn)",
                "simulation": {
                    "software_version": SOFTWARE_VERSION,
                    "calibration_version": CALIBRATION_VERSION,
                    "spec": spec.to_dict(),
                    "visit": CORPUS_VISIT,
                },
                "sequences": list(SEQUENCES),
                "participants_sha256": _sha256(staging / "participants.tsv"),
                "cases": cases,
            },
        )
    return out_dir


# --------------------------------------------------------------------------- render


_VISIT_RE = re.compile(r"_visit-(\d+)_seg\.nii\.gz$")


@dataclass(frozen=True)
class _Subject:
    subject_id: str
    number: int
    seed: int
    age_years: float | None
    sex: str | None
    anatomy_path: Path
    visits: tuple[tuple[int, Path], ...]


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise GeneratorInputError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GeneratorInputError(f"{path}: invalid JSON ({error})") from error


def _derived_seed(root_seed: int, subject_id: str) -> int:
    digest = hashlib.sha256(f"{root_seed}:{subject_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _parse_optional_float(value: str | None, where: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise GeneratorInputError(f"{where}: {value!r} is not a number") from None


def _scan_simulation_dir(maps_dir: Path, wanted: Iterable[str] | None) -> list[_Subject]:
    if not maps_dir.is_dir():
        raise GeneratorInputError(f"{maps_dir}: maps directory not found")
    manifest = _read_json(maps_dir / "manifest.json")
    if not isinstance(manifest, dict):
        raise GeneratorInputError(f"{maps_dir / 'manifest.json'}: must hold a JSON object")
    root_seed = manifest.get("seed", 0)
    if isinstance(root_seed, bool) or not isinstance(root_seed, int):
        raise GeneratorInputError(f"{maps_dir / 'manifest.json'}: seed must be an integer")
    csv_path = maps_dir / "subjects.csv"
    if not csv_path.is_file():
        raise GeneratorInputError(f"{csv_path}: file not found")
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "subject_id" not in rows[0]:
        raise GeneratorInputError(f"{csv_path}: needs a header with subject_id, age, sex")
    ids = [row["subject_id"] for row in rows]
    if len(set(ids)) != len(ids):
        raise GeneratorInputError(f"{csv_path}: duplicate subject_id")
    if wanted is not None:
        wanted = list(wanted)
        unknown = sorted(set(wanted) - set(ids))
        if unknown:
            raise GeneratorInputError(f"subjects: not in {csv_path}: {', '.join(unknown)}")
        rows = [row for row in rows if row["subject_id"] in set(wanted)]
    # BraTS subject numbers: trailing digits of the ids when unique, else 1-based row order.
    trailing = [re.search(r"(\d+)$", i) for i in ids]
    numbers = [int(m.group(1)) if m else -1 for m in trailing]
    use_digits = all(0 <= v <= 99999 for v in numbers) and len(set(numbers)) == len(numbers)
    number_of = {
        i: (v if use_digits else k + 1) for k, (i, v) in enumerate(zip(ids, numbers, strict=True))
    }

    subjects = []
    for line, row in enumerate(rows, start=2):
        subject_id = row["subject_id"]
        where = f"{csv_path} line {line}"
        seed_text = (row.get("seed") or "").strip()
        try:
            seed = int(seed_text) if seed_text else _derived_seed(root_seed, subject_id)
        except ValueError:
            raise GeneratorInputError(f"{where}: seed {seed_text!r} is not an integer") from None
        label_dir = maps_dir / "labels" / subject_id
        visits = []
        for path in sorted(label_dir.glob(f"{subject_id}_visit-*_seg.nii.gz")):
            match = _VISIT_RE.search(path.name)
            if match is not None:
                visits.append((int(match.group(1)), path))
        if not visits:
            raise GeneratorInputError(f"{label_dir}: no <subject>_visit-<VV>_seg.nii.gz files")
        subjects.append(
            _Subject(
                subject_id=subject_id,
                number=number_of[subject_id],
                seed=seed,
                age_years=_parse_optional_float(row.get("age"), f"{where} age"),
                sex=(row.get("sex") or None),
                anatomy_path=maps_dir / "anatomy" / f"{subject_id}.json",
                visits=tuple(sorted(visits)),
            )
        )
    return subjects


def _preflight(plan: Iterable[_Subject]) -> None:
    """Cheap checks of every input before anything is rendered: anatomy JSON parses, label
    map headers load and agree within a subject. Data corruption is caught when read."""
    for subject in plan:
        if not isinstance(_read_json(subject.anatomy_path), dict):
            raise GeneratorInputError(f"{subject.anatomy_path}: must hold a JSON object")
        first: tuple[Path, tuple[int, ...], np.ndarray] | None = None
        for _, seg_path in subject.visits:
            try:
                header = nib.load(seg_path).header
                shape = tuple(int(n) for n in header.get_data_shape())
                affine = header.get_best_affine()
            except Exception as error:  # nibabel raises many types for a broken header
                raise NiftiReadError(f"{seg_path}: corrupt or truncated NIfTI header") from error
            if first is None:
                first = (seg_path, shape, affine)
                continue
            if shape != first[1]:
                raise GeneratorInputError(
                    f"{seg_path}: shape {shape} differs from {first[0].name} {first[1]}"
                )
            check_same_grid(first[2], affine, what_a=str(first[0]), what_b=str(seg_path))


def render_simulation_dir(
    maps_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    engine: Engine | str = "physics",
    subjects: Iterable[str] | None = None,
    sequences: Iterable[str] = SEQUENCES,
    anatomy_builder: AnatomyBuilder | None = None,
    space: Space = "mni",
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Render every visit of a simulation output directory into BraTS layout under ``out_dir``.

    ``anatomy_builder`` turns ``anatomy/<id>.json`` into an anatomy (default
    ``default_anatomy_builder``). Subject seeds come from the ``seed`` column of subjects.csv,
    else from SHA-256 of (manifest seed, subject_id). JSON files and label-map headers are
    checked before rendering starts, label data when read; the output directory appears only
    when complete.
    """
    maps_dir = Path(maps_dir)
    engine = _resolve_engine(engine)
    sequences = tuple(sequences)
    for sequence in sequences:
        if sequence not in SEQUENCES:
            raise GeneratorInputError(
                f"sequences: unknown sequence {sequence!r} (choices: {', '.join(SEQUENCES)})"
            )
    builder = anatomy_builder or default_anatomy_builder
    plan = _scan_simulation_dir(maps_dir, subjects)
    _preflight(plan)
    total = sum(len(s.visits) for s in plan)
    cases = []
    with (
        _staged_directory(Path(out_dir), overwrite=overwrite) as staging,
        tqdm(total=total, desc="render", unit="visit", disable=not progress) as bar,
    ):
        for subject in plan:
            params = _read_json(subject.anatomy_path)
            if not isinstance(params, dict):
                raise GeneratorInputError(f"{subject.anatomy_path}: must hold a JSON object")
            try:
                anatomy = builder(params)
                validate_anatomy(anatomy)
            except (GeneratorInputError, TypeError, KeyError, ValueError) as error:
                raise GeneratorInputError(f"{subject.anatomy_path}: {error}") from error
            grid_shape = np.shape(anatomy.brain_mask)
            for visit, seg_path in subject.visits:
                seg = read_segmentation(seg_path)
                if seg.data.shape != grid_shape:
                    raise GeneratorInputError(
                        f"{seg_path}: shape {seg.data.shape} differs from the anatomy grid "
                        f"{grid_shape} ({subject.anatomy_path})"
                    )
                check_same_grid(
                    anatomy.affine,
                    seg.affine,
                    what_a=str(subject.anatomy_path),
                    what_b=str(seg_path),
                )
                volumes = render_visit(
                    anatomy,
                    seg.data,
                    engine=engine,
                    subject_seed=subject.seed,
                    sequences=sequences,
                    age_years=subject.age_years,
                    sex=subject.sex,
                )
                case_id = brats_case_id(subject.number, visit)
                files = _write_case(
                    staging / case_id,
                    subject.number,
                    visit,
                    volumes,
                    seg.data,
                    np.asarray(anatomy.affine),
                    engine=engine,
                    subject_seed=subject.seed,
                    space=space,
                )
                cases.append(
                    {
                        "case_id": case_id,
                        "subject_id": subject.subject_id,
                        "subject_seed": subject.seed,
                        "visit": visit,
                        "files": files,
                    }
                )
                bar.update(1)
        _write_json(
            staging / "manifest.json",
            {
                "kind": "generator-render",
                "engine": engine.name,
                "engine_version": engine.version,
                "sequences": list(sequences),
                "source": maps_dir.name,
                "cases": cases,
            },
        )
    return Path(out_dir)
