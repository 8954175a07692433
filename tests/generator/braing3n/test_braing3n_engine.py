"""The ``braing3n`` engine on the shipped tiny checkpoint: full 2 mm grid, deterministic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from generator.braing3n.checkpoint import sha256_file
from generator.engine import GeneratorInputError, RenderRequest, get_engine, render_visit
from generator.engines.braing3n import DEFAULT_CHECKPOINT, BrainG3NEngine

#: Shipped checkpoint size limit (issue 4, item 6).
MAX_CHECKPOINT_BYTES = 20 * 1024 * 1024
#: DDIM steps used here to keep the test fast; the default (config) is 50.
TEST_DDIM_STEPS = 10


@pytest.fixture(scope="module")
def engine() -> BrainG3NEngine:
    return BrainG3NEngine(num_inference_steps=TEST_DDIM_STEPS)


@pytest.fixture(scope="module")
def anatomy():
    from generator.corpus import load_mni152_anatomy

    return load_mni152_anatomy(2)


@pytest.fixture(scope="module")
def labels(anatomy) -> np.ndarray:
    labels = np.zeros(anatomy.brain_mask.shape, dtype=np.uint8)
    labels[30:44, 60:74, 40:54] = 2
    labels[34:40, 64:70, 44:50] = 3
    labels[36:38, 66:68, 46:48] = 1
    return labels


def test_shipped_checkpoint_is_small_and_verified() -> None:
    manifest = json.loads((DEFAULT_CHECKPOINT / "manifest.json").read_text())
    size = sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.iterdir() if p.is_file())
    assert size <= MAX_CHECKPOINT_BYTES
    assert manifest["model_sha256"] == sha256_file(DEFAULT_CHECKPOINT / "model.pt")
    assert manifest["completed_stages"] == ["clinical", "decoder", "joint", "diffusion"]
    assert (DEFAULT_CHECKPOINT / "README.md").is_file()


def test_get_engine_loads_the_shipped_checkpoint_by_default() -> None:
    engine = get_engine("braing3n", num_inference_steps=2)
    assert engine.name == "braing3n"
    assert engine.version.startswith("0.2+tiny.")


def test_render_is_deterministic_on_the_full_grid(engine, anatomy, labels) -> None:
    request = RenderRequest(anatomy, labels, "t1c", subject_seed=42, age_years=61.0, sex="M")
    a, b = engine.render(request), engine.render(request)
    assert a.shape == anatomy.brain_mask.shape == (99, 117, 95)
    assert a.dtype == np.float32
    assert a.tobytes() == b.tobytes()
    assert float(np.abs(a[~anatomy.brain_mask]).max()) == 0.0
    assert float(a[anatomy.brain_mask].std()) > 0.0


def test_subject_and_sequence_change_the_volume(engine, anatomy, labels) -> None:
    base = engine.render(RenderRequest(anatomy, labels, "t2w", subject_seed=1))
    other_subject = engine.render(RenderRequest(anatomy, labels, "t2w", subject_seed=2))
    other_sequence = engine.render(RenderRequest(anatomy, labels, "t2f", subject_seed=1))
    assert not np.array_equal(base, other_subject)
    assert not np.array_equal(base, other_sequence)


def test_render_visit_gives_all_four_sequences(engine, anatomy, labels) -> None:
    volumes = render_visit(anatomy, labels, engine=engine, subject_seed=3)
    assert sorted(volumes) == ["t1c", "t1n", "t2f", "t2w"]
    assert all(v.shape == labels.shape for v in volumes.values())


def test_bad_requests_are_refused(engine, anatomy, labels) -> None:
    with pytest.raises(GeneratorInputError, match="sequence: unknown sequence 'dwi'"):
        engine.render(RenderRequest(anatomy, labels, "dwi", subject_seed=1))
    with pytest.raises(GeneratorInputError, match="labels: shape"):
        engine.render(RenderRequest(anatomy, labels[:-1], "t1n", subject_seed=1))


def test_the_shipped_model_renders_the_given_tumour(engine, anatomy, labels) -> None:
    """Where the label map puts oedema and tumour, FLAIR and T2w are brighter than the same
    region without a tumour, and moving the tumour moves the bright region."""
    empty = np.zeros_like(labels)
    moved = np.zeros_like(labels)
    moved[56:70, 60:74, 40:54] = labels[30:44, 60:74, 40:54]  # mirrored across the midline
    abnormal = labels > 0
    for sequence in ("t2w", "t2f"):
        with_tumour, without, elsewhere = (
            engine.render(RenderRequest(anatomy, lab, sequence, subject_seed=3))
            for lab in (labels, empty, moved)
        )
        assert with_tumour[abnormal].mean() > 1.2 * without[abnormal].mean()
        assert with_tumour[abnormal].mean() > 1.2 * elsewhere[abnormal].mean()
