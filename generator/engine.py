"""One interface for every image engine.

An engine turns a subject's anatomy plus one visit's BraTS label map into one MR volume per
sequence. Engines are pure functions of their inputs: the subject seed fixes the noise texture
and bias field, so the same subject looks the same at every visit except where the tumour
changed; the same inputs give byte-identical output.

Engines register by name in ``get_engine``; ``braing3n`` is imported lazily so that the physics
engine works without the neural stack.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "BRATS_LABELS",
    "ENGINES",
    "SEQUENCES",
    "Anatomy",
    "Engine",
    "GeneratorInputError",
    "RenderRequest",
    "get_engine",
    "render_visit",
    "validate_anatomy",
    "validate_labels",
    "validate_request",
]

#: BraTS 2023 sequence names: native T1, contrast-enhanced T1, T2-weighted, T2-FLAIR.
SEQUENCES: tuple[str, ...] = ("t1n", "t1c", "t2w", "t2f")

#: BraTS 2023 labels: 0 background, 1 necrotic core, 2 peritumoral oedema, 3 enhancing tumour.
BRATS_LABELS: dict[int, str] = {0: "background", 1: "necrosis", 2: "oedema", 3: "enhancing"}

#: Relative tolerance (mm) when comparing two affines for "same grid".
AFFINE_TOLERANCE_MM = 1e-4


class GeneratorInputError(ValueError):
    """Bad input to the generator: the message names the field or file and the problem."""


@runtime_checkable
class Anatomy(Protocol):
    """A subject's anatomy on one voxel grid (``simulation.SubjectAnatomy`` satisfies it).

    ``gm``, ``wm`` and ``csf`` are float32 tissue probability maps in [0, 1]; ``brain_mask`` is
    boolean; ``affine`` maps voxel indices to RAS millimetres.
    """

    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    brain_mask: np.ndarray
    affine: np.ndarray
    voxel_size_mm: float


@dataclass(frozen=True, eq=False)
class RenderRequest:
    """Everything an engine needs to render one sequence of one visit.

    ``labels`` is the visit's uint8 BraTS label map on the anatomy's grid; ``density`` is the
    optional tumour cell density (0..1) on the same grid, used for partial volume at the
    infiltrative margin.
    """

    anatomy: Anatomy
    labels: np.ndarray
    sequence: str
    subject_seed: int
    age_years: float | None = None
    sex: str | None = None
    density: np.ndarray | None = None


class Engine(abc.ABC):
    """Base class of image engines: ``render(request)`` returns a float32 volume on the grid."""

    name: ClassVar[str]
    version: ClassVar[str]

    @abc.abstractmethod
    def render(self, request: RenderRequest) -> np.ndarray:
        """Render one sequence; float32, same shape as ``request.labels``."""

    def render_many(self, requests: Sequence[RenderRequest]) -> list[np.ndarray]:
        """Render several sequences of one visit; engines override this to share work."""
        return [self.render(request) for request in requests]


# --------------------------------------------------------------------------- registry

#: Engine name -> "module:Class"; imported on first use so optional stacks stay optional.
ENGINES: dict[str, str] = {
    "physics": "generator.engines.physics:PhysicsEngine",
    "braing3n": "generator.engines.braing3n:BrainG3NEngine",
}


def get_engine(name: str, **options: Any) -> Engine:
    """Instantiate the engine registered as ``name`` with ``options``.

    Raises ``GeneratorInputError`` (a ``ValueError``) naming the engine and the choices when the
    name is unknown.
    """
    if name not in ENGINES:
        choices = ", ".join(sorted(ENGINES))
        raise GeneratorInputError(f"engine: unknown engine {name!r} (choices: {choices})")
    module_name, class_name = ENGINES[name].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(**options)


# --------------------------------------------------------------------------- validation


def _check_affine(affine: Any, field: str) -> np.ndarray:
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise GeneratorInputError(f"{field}: affine must be 4x4, got shape {affine.shape}")
    if not np.all(np.isfinite(affine)):
        raise GeneratorInputError(f"{field}: affine has non-finite entries")
    if not np.allclose(affine[3], (0.0, 0.0, 0.0, 1.0)):
        raise GeneratorInputError(f"{field}: affine's last row must be (0, 0, 0, 1)")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise GeneratorInputError(f"{field}: affine is singular")
    return affine


def validate_anatomy(anatomy: Any, *, name: str = "anatomy") -> None:
    """Check that ``anatomy`` has consistent tissue maps, mask and affine; raise otherwise."""
    for field in ("gm", "wm", "csf", "brain_mask", "affine", "voxel_size_mm"):
        if not hasattr(anatomy, field):
            raise GeneratorInputError(f"{name}: missing attribute {field!r}")
    mask = np.asarray(anatomy.brain_mask)
    if mask.ndim != 3:
        raise GeneratorInputError(f"{name}.brain_mask: must be 3-D, got shape {mask.shape}")
    if mask.dtype != np.bool_:
        raise GeneratorInputError(f"{name}.brain_mask: must be bool, got {mask.dtype}")
    for field in ("gm", "wm", "csf"):
        tissue = np.asarray(getattr(anatomy, field))
        if tissue.shape != mask.shape:
            raise GeneratorInputError(
                f"{name}.{field}: shape {tissue.shape} differs from brain_mask {mask.shape}"
            )
        if not np.issubdtype(tissue.dtype, np.floating):
            raise GeneratorInputError(f"{name}.{field}: must be floating point, got {tissue.dtype}")
    affine = _check_affine(anatomy.affine, f"{name}.affine")
    try:
        voxel_size_mm = float(anatomy.voxel_size_mm)
    except (TypeError, ValueError):
        raise GeneratorInputError(
            f"{name}.voxel_size_mm: must be a number, got {anatomy.voxel_size_mm!r}"
        ) from None
    spacing_mm = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    if not np.allclose(spacing_mm, voxel_size_mm, rtol=1e-3):
        raise GeneratorInputError(
            f"{name}.voxel_size_mm: {voxel_size_mm} disagrees with the affine's spacing "
            f"{tuple(round(float(s), 4) for s in spacing_mm)}"
        )


def validate_labels(labels: Any, shape: tuple[int, ...], *, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as uint8 after checking shape and that values are BraTS labels."""
    labels = np.asarray(labels)
    if labels.shape != tuple(shape):
        raise GeneratorInputError(
            f"{name}: shape {labels.shape} differs from the anatomy grid {tuple(shape)}"
        )
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise GeneratorInputError(f"{name}: must be an integer label map, got {labels.dtype}")
    if labels.size == 0:
        return labels.astype(np.uint8)
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high > max(BRATS_LABELS):  # only then pay for the full list of values
        present = np.unique(labels).tolist()
    else:
        present = []
    bad = sorted(int(v) for v in present if int(v) not in BRATS_LABELS)
    if bad:
        raise GeneratorInputError(
            f"{name}: values {bad[:5]} are not BraTS 2023 labels {sorted(BRATS_LABELS)}"
        )
    return labels.astype(np.uint8, copy=False)


def validate_request(request: RenderRequest) -> RenderRequest:
    """Validate a request; return it with labels as uint8 (raise ``GeneratorInputError``)."""
    if request.sequence not in SEQUENCES:
        raise GeneratorInputError(
            f"sequence: unknown sequence {request.sequence!r} (choices: {', '.join(SEQUENCES)})"
        )
    validate_anatomy(request.anatomy)
    shape = np.shape(request.anatomy.brain_mask)
    labels = validate_labels(request.labels, shape)
    density = request.density
    if density is not None:
        density = np.asarray(density)
        if density.shape != shape:
            raise GeneratorInputError(
                f"density: shape {density.shape} differs from the anatomy grid {shape}"
            )
    if isinstance(request.subject_seed, bool) or not isinstance(
        request.subject_seed, int | np.integer
    ):
        raise GeneratorInputError(f"subject_seed: must be an integer, got {request.subject_seed!r}")
    if request.subject_seed < 0:
        raise GeneratorInputError(f"subject_seed: must be non-negative, got {request.subject_seed}")
    if labels is request.labels and density is request.density:
        return request
    return RenderRequest(
        anatomy=request.anatomy,
        labels=labels,
        sequence=request.sequence,
        subject_seed=int(request.subject_seed),
        age_years=request.age_years,
        sex=request.sex,
        density=density,
    )


def check_same_grid(
    affine_a: np.ndarray, affine_b: np.ndarray, *, what_a: str, what_b: str
) -> None:
    """Raise ``GeneratorInputError`` unless the two affines describe the same grid."""
    a = _check_affine(affine_a, what_a)
    b = _check_affine(affine_b, what_b)
    if not np.allclose(a, b, atol=AFFINE_TOLERANCE_MM):
        raise GeneratorInputError(
            f"{what_b}: affine does not match {what_a} (max difference "
            f"{float(np.abs(a - b).max()):.4g} mm)"
        )


# --------------------------------------------------------------------------- visits


def render_visit(
    anatomy: Anatomy,
    labels: np.ndarray,
    *,
    engine: Engine | str = "physics",
    subject_seed: int,
    sequences: Iterable[str] = SEQUENCES,
    age_years: float | None = None,
    sex: str | None = None,
    density: np.ndarray | None = None,
    labels_affine: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Render every requested sequence of one visit: ``{sequence: float32 volume}``.

    ``engine`` is an ``Engine`` or a registered name. ``labels_affine``, when given (e.g. from
    the label map's NIfTI header), must match the anatomy's affine. Inputs are validated once;
    engines that implement ``render_many`` share per-visit work (tissue warping).
    """
    if isinstance(engine, str):
        engine = get_engine(engine)
    if labels_affine is not None:
        check_same_grid(
            anatomy.affine, labels_affine, what_a="anatomy.affine", what_b="labels_affine"
        )
    sequences = tuple(sequences)
    if not sequences:
        raise GeneratorInputError("sequences: at least one sequence is required")
    for sequence in sequences:
        if sequence not in SEQUENCES:
            raise GeneratorInputError(
                f"sequence: unknown sequence {sequence!r} (choices: {', '.join(SEQUENCES)})"
            )
    # Validate once; every request shares the validated (uint8) label array so that engines
    # can recognise one visit and share work between its sequences.
    first = validate_request(
        RenderRequest(
            anatomy=anatomy,
            labels=labels,
            sequence=sequences[0],
            subject_seed=subject_seed,
            age_years=age_years,
            sex=sex,
            density=density,
        )
    )
    requests = [dataclasses.replace(first, sequence=sequence) for sequence in sequences]
    render_many: Callable[[Sequence[RenderRequest]], list[np.ndarray]] | None = getattr(
        engine, "render_many", None
    )
    if render_many is not None:
        volumes = render_many(requests)
    else:
        volumes = [engine.render(request) for request in requests]
    return {
        r.sequence: np.asarray(v, dtype=np.float32) for r, v in zip(requests, volumes, strict=True)
    }
