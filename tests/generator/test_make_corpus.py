"""``python -m generator make-corpus`` and the synthetic tumours it draws."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from generator.__main__ import main
from generator.corpus import load_mni152_anatomy, make_corpus, synthetic_tumour
from generator.engine import SEQUENCES
from generator.nifti import read_segmentation, read_volume


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "c"
    assert main(["make-corpus", "--out", str(out), "--n", "2", "--seed", "3", "--quiet"]) == 0
    return out


def _hashes(out):
    manifest = json.loads((out / "manifest.json").read_text())
    return {case["case_id"]: case["files"] for case in manifest["cases"]}


def test_corpus_has_brats_layout_and_a_manifest(corpus):
    cases = sorted(p.name for p in corpus.iterdir() if p.is_dir())
    assert cases == ["BraTS-GLI-00000-000", "BraTS-GLI-00001-000"]
    for case in cases:
        names = sorted(p.name for p in (corpus / case).iterdir())
        assert names == sorted(f"{case}-{s}.nii.gz" for s in (*SEQUENCES, "seg"))
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["n"] == 2 and manifest["resolution_mm"] == 2


def test_corpus_volumes_are_readable_and_labelled(corpus):
    seg = read_segmentation(corpus / "BraTS-GLI-00000-000" / "BraTS-GLI-00000-000-seg.nii.gz")
    assert set(np.unique(seg.data).tolist()) == {0, 1, 2, 3}
    t1c = read_volume(corpus / "BraTS-GLI-00000-000" / "BraTS-GLI-00000-000-t1c.nii.gz")
    assert t1c.data.shape == (99, 117, 95)
    assert t1c.data[seg.data == 3].mean() > t1c.data[seg.data == 2].mean()


def test_corpus_is_reproducible_and_prefix_stable(corpus, tmp_path):
    """Same seed: same bytes; more subjects never change the earlier ones."""
    bigger = make_corpus(tmp_path / "c3", n=3, seed=3, progress=False)
    first, second = _hashes(corpus), _hashes(bigger)
    assert set(second) == set(first) | {"BraTS-GLI-00002-000"}
    for case_id, files in first.items():
        assert second[case_id] == files


def test_different_seeds_give_different_corpora(corpus, tmp_path):
    other = make_corpus(tmp_path / "c", n=1, seed=4, progress=False)
    assert _hashes(other)["BraTS-GLI-00000-000"] != _hashes(corpus)["BraTS-GLI-00000-000"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--n", "0"], "n: number of subjects must be a positive integer"),
        (["--n", "1", "--seed", "-1"], "seed: must be a non-negative integer"),
        (["--n", "1", "--engine", "magic"], "unknown engine 'magic'"),
    ],
)
def test_bad_corpus_arguments_exit_2(tmp_path, capsys, argv, fragment):
    status = main(["make-corpus", "--out", str(tmp_path / "out"), "--quiet", *argv])
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.splitlines() == [err] and fragment in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("seed", range(6))
def test_synthetic_tumours_are_nested_and_inside_the_brain(seed):
    anatomy = load_mni152_anatomy(2)
    labels = synthetic_tumour(anatomy, np.random.default_rng(seed))
    assert labels.dtype == np.uint8
    assert set(np.unique(labels).tolist()) <= {0, 1, 2, 3}
    assert not np.any(labels[~anatomy.brain_mask])
    core = (labels == 1) | (labels == 3)
    assert core.sum() * 8 > 2000  # > 2 ml at 2 mm
    # Necrosis is enclosed by enhancing tumour: growing it by one voxel stays in the core.
    necrosis = labels == 1
    assert np.all(core[ndimage.binary_dilation(necrosis) & anatomy.brain_mask])
    # Oedema surrounds the core.
    assert (labels == 2).sum() > 0


def test_corpus_cases_are_the_simulated_subjects(corpus):
    """Each case renders the simulation's subject: its label map, anatomy, age and sex."""
    from generator.corpus import CORPUS_COHORT_SIZE, CORPUS_SPEC, CORPUS_VISIT
    from simulation import build_subject_anatomy, parse_spec, simulate_subjects

    spec = parse_spec({**CORPUS_SPEC, "size": CORPUS_COHORT_SIZE, "seed": 3})
    chunk = simulate_subjects(spec, [1])
    row = chunk.subjects.iloc[0]
    case = corpus / "BraTS-GLI-00001-000"
    seg = read_segmentation(case / "BraTS-GLI-00001-000-seg.nii.gz")
    expected = chunk.label_maps[(row["subject_id"], CORPUS_VISIT)].to_full()
    assert (expected > 0).any() and np.array_equal(seg.data, expected)
    anatomy = build_subject_anatomy(chunk.anatomy_params[row["subject_id"]])
    t1n = read_volume(case / "BraTS-GLI-00001-000-t1n.nii.gz")
    assert np.array_equal(t1n.data != 0, anatomy.brain_mask)
    lines = (corpus / "participants.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["case_id", "subject_id", "age", "sex"]
    assert lines[2].split("\t") == [
        "BraTS-GLI-00001-000",
        row["subject_id"],
        f"{float(row['age']):g}",
        row["sex"],
    ]
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert manifest["simulation"]["spec"]["seed"] == 3


def test_corpus_covariates_reach_the_training_reader(corpus):
    from generator.braing3n.data import find_cases

    cases = find_cases(corpus)
    assert all(c.age_years is not None and c.sex in {"F", "M"} for c in cases)
