"""The engine interface: registry, validation, determinism and same-subject consistency."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from generator.engine import (
    SEQUENCES,
    Anatomy,
    Engine,
    GeneratorInputError,
    RenderRequest,
    get_engine,
    render_visit,
)
from generator.engines.physics import PhysicsEngine


def test_sequences_are_the_brats_2023_names():
    assert SEQUENCES == ("t1n", "t1c", "t2w", "t2f")


def test_get_engine_returns_the_physics_engine_with_name_and_version():
    engine = get_engine("physics")
    assert isinstance(engine, Engine)
    assert engine.name == "physics"
    assert engine.version


def test_get_engine_passes_options():
    assert get_engine("physics", field_strength_t=1.5).field_strength_t == 1.5


def test_unknown_engine_names_the_engine_and_the_choices():
    with pytest.raises(ValueError, match=r"'nope'.*braing3n, physics"):
        get_engine("nope")


def test_template_anatomy_satisfies_the_protocol(anatomy):
    assert isinstance(anatomy, Anatomy)


def test_render_visit_returns_one_float32_volume_per_sequence_on_the_grid(anatomy, tumour):
    volumes = render_visit(anatomy, tumour, engine="physics", subject_seed=3)
    assert tuple(volumes) == SEQUENCES
    for volume in volumes.values():
        assert volume.dtype == np.float32
        assert volume.shape == tumour.shape
        assert np.all(np.isfinite(volume))
        assert np.all(volume[~anatomy.brain_mask] == 0)  # skull-stripped like BraTS


def test_render_matches_render_visit(anatomy, tumour):
    engine = PhysicsEngine()
    single = engine.render(RenderRequest(anatomy, tumour, "t2f", subject_seed=3))
    visit = render_visit(anatomy, tumour, engine=PhysicsEngine(), subject_seed=3)
    assert np.array_equal(single, visit["t2f"])


def test_same_inputs_give_bit_identical_volumes(anatomy, tumour):
    first = render_visit(anatomy, tumour, engine=PhysicsEngine(), subject_seed=11)
    second = render_visit(anatomy, tumour.copy(), engine=PhysicsEngine(), subject_seed=11)
    for sequence in SEQUENCES:
        assert first[sequence].tobytes() == second[sequence].tobytes()


def test_different_subjects_get_different_noise(anatomy, tumour):
    a = render_visit(anatomy, tumour, engine="physics", subject_seed=1, sequences=("t1n",))
    b = render_visit(anatomy, tumour, engine="physics", subject_seed=2, sequences=("t1n",))
    assert not np.array_equal(a["t1n"], b["t1n"])


def test_same_subject_is_identical_far_from_the_tumour_across_visits(anatomy, make_tumour, sites):
    """Two visits with different tumours: anatomy, bias and noise texture stay put."""
    engine = PhysicsEngine()
    visit_1 = make_tumour(sites["right_wm"], 8.0)
    visit_2 = make_tumour(sites["right_wm"], 14.0)
    first = render_visit(anatomy, visit_1, engine=engine, subject_seed=5)
    second = render_visit(anatomy, visit_2, engine=engine, subject_seed=5)
    # Far = the opposite hemisphere's frontal lobe: beyond any mass-effect taper.
    ijk = np.indices(anatomy.brain_mask.shape).reshape(3, -1)
    xyz = (anatomy.affine[:3, :3] @ ijk + anatomy.affine[:3, 3:4]).T
    far = (np.linalg.norm(xyz - np.asarray(sites["left_frontal"]), axis=1) < 20).reshape(
        anatomy.brain_mask.shape
    ) & anatomy.brain_mask
    assert far.sum() > 1000
    near = (visit_2 > 0) & anatomy.brain_mask
    for sequence in SEQUENCES:
        assert np.array_equal(first[sequence][far], second[sequence][far]), sequence
        assert not np.array_equal(first[sequence][near], second[sequence][near]), sequence


def test_request_is_a_dataclass_with_the_contract_fields():
    names = [f.name for f in dataclasses.fields(RenderRequest)]
    assert names[:6] == ["anatomy", "labels", "sequence", "subject_seed", "age_years", "sex"]


# ----------------------------------------------------------------------------- bad input


@dataclasses.dataclass
class _Anatomy:
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    brain_mask: np.ndarray
    affine: np.ndarray
    voxel_size_mm: float


def _copy(anatomy, **changes) -> _Anatomy:
    fields = {
        f: getattr(anatomy, f) for f in ("gm", "wm", "csf", "brain_mask", "affine", "voxel_size_mm")
    }
    fields.update(changes)
    return _Anatomy(**fields)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: {"gm": a.gm[:-1]}, r"anatomy\.gm: shape"),
        (lambda a: {"brain_mask": a.brain_mask.astype(np.uint8)}, r"brain_mask: must be bool"),
        (lambda a: {"affine": np.eye(3)}, r"anatomy\.affine: affine must be 4x4"),
        (lambda a: {"affine": np.zeros((4, 4))}, r"anatomy\.affine"),
        (lambda a: {"voxel_size_mm": 1.0}, r"voxel_size_mm: 1.0 disagrees"),
        (lambda a: {"wm": a.wm.astype(np.int16)}, r"anatomy\.wm: must be floating"),
    ],
)
def test_bad_anatomy_is_rejected_naming_the_field(anatomy, tumour, change, message):
    bad = _copy(anatomy, **change(anatomy))
    with pytest.raises(GeneratorInputError, match=message):
        render_visit(bad, tumour, engine="physics", subject_seed=1)


def test_anatomy_missing_an_attribute_is_rejected(tumour):
    class Partial:
        gm = wm = csf = np.zeros(tumour.shape, dtype=np.float32)

    with pytest.raises(GeneratorInputError, match=r"anatomy: missing attribute 'brain_mask'"):
        render_visit(Partial(), tumour, engine="physics", subject_seed=1)


def test_labels_with_a_wrong_shape_are_rejected(anatomy, tumour):
    with pytest.raises(GeneratorInputError, match=r"labels: shape \(99, 117, 94\) differs"):
        render_visit(anatomy, tumour[..., :-1], engine="physics", subject_seed=1)


def test_labels_outside_brats_values_are_rejected(anatomy, tumour):
    labels = tumour.copy()
    labels[50, 50, 50] = 4  # BraTS 2021 enhancing label
    with pytest.raises(GeneratorInputError, match=r"labels: values \[4\] are not BraTS 2023"):
        render_visit(anatomy, labels, engine="physics", subject_seed=1)


def test_float_labels_are_rejected(anatomy, tumour):
    with pytest.raises(GeneratorInputError, match="labels: must be an integer label map"):
        render_visit(anatomy, tumour.astype(np.float32), engine="physics", subject_seed=1)


def test_unknown_sequence_is_rejected_with_the_choices(anatomy, tumour):
    with pytest.raises(GeneratorInputError, match=r"sequence: unknown sequence 't1'.*t1n"):
        render_visit(anatomy, tumour, engine="physics", subject_seed=1, sequences=("t1",))


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_bad_subject_seeds_are_rejected(anatomy, tumour, seed):
    with pytest.raises(GeneratorInputError, match="subject_seed"):
        render_visit(anatomy, tumour, engine="physics", subject_seed=seed)


def test_labels_affine_must_match_the_anatomy(anatomy, tumour):
    shifted = anatomy.affine.copy()
    shifted[1, 3] += 2.0
    with pytest.raises(GeneratorInputError, match=r"labels_affine: affine does not match"):
        render_visit(anatomy, tumour, engine="physics", subject_seed=1, labels_affine=shifted)
    volumes = render_visit(
        anatomy,
        tumour,
        engine="physics",
        subject_seed=1,
        labels_affine=anatomy.affine,
        sequences=("t1n",),
    )
    assert set(volumes) == {"t1n"}


def test_non_numeric_voxel_size_is_rejected(anatomy, tumour):
    with pytest.raises(GeneratorInputError, match=r"voxel_size_mm: must be a number"):
        render_visit(_copy(anatomy, voxel_size_mm=None), tumour, subject_seed=1)


def test_output_does_not_depend_on_what_the_engine_rendered_before(anatomy, make_tumour, sites):
    """Per-subject caches (tumour-free signal, noise, bias) must not change any value."""
    labels = make_tumour(sites["right_wm"], 10.0)
    fresh = render_visit(anatomy, labels, engine=PhysicsEngine(), subject_seed=8)
    warm_engine = PhysicsEngine()
    render_visit(
        anatomy, make_tumour(sites["left_frontal"], 6.0), engine=warm_engine, subject_seed=8
    )
    render_visit(anatomy, labels, engine=warm_engine, subject_seed=9)  # another subject between
    warm = render_visit(anatomy, labels, engine=warm_engine, subject_seed=8)
    for sequence in SEQUENCES:
        assert fresh[sequence].tobytes() == warm[sequence].tobytes(), sequence
