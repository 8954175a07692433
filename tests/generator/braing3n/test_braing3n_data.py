"""The BraTS reader: 2023 and 2021 layouts, covariates, and clear errors for bad directories."""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from generator.braing3n.data import BraTSDataset, find_cases, prepare_case, split_cases
from generator.braing3n.errors import DataError

SHAPE = (32, 32, 32)
RENAMES_2021 = {"t1n": "t1", "t1c": "t1ce", "t2w": "t2", "t2f": "flair", "seg": "seg"}


def _copy_case(corpus_dir: Path, target: Path) -> tuple[Path, str]:
    source = sorted(p for p in corpus_dir.iterdir() if p.is_dir())[0]
    shutil.copytree(source, target / source.name)
    return target / source.name, source.name


def test_reads_the_corpus_on_the_model_grid(corpus_dir: Path) -> None:
    cases = find_cases(corpus_dir)
    assert len(cases) == 6 and all(c.layout == "brats2023" for c in cases)
    item = BraTSDataset(cases, SHAPE)[5]
    assert item["image"].shape == (1, *SHAPE) and item["sequence"] == 1
    assert item["labels"].shape == SHAPE and item["fractions"].shape == (4, *SHAPE)
    assert 0.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0
    assert set(torch.unique(item["labels"]).tolist()) <= {0, 1, 2, 3}
    assert int((item["labels"] > 0).sum()) > 0


def test_brats2021_layout_reads_the_same(corpus_dir: Path, tmp_path: Path) -> None:
    folder, case_id = _copy_case(corpus_dir, tmp_path / "d2021")
    for suffix, old in RENAMES_2021.items():
        path = folder / f"{case_id}-{suffix}.nii.gz"
        new = folder / f"{case_id}_{old}.nii.gz"
        if suffix == "seg":
            img = nib.load(path)
            data = np.asarray(img.dataobj).copy()
            data[data == 3] = 4  # BraTS 2021 enhancing label
            nib.save(nib.Nifti1Image(data, img.affine), new)
            path.unlink()
        else:
            path.rename(new)
    (case_2021,) = find_cases(tmp_path / "d2021")
    assert case_2021.layout == "brats2021"
    a = prepare_case(case_2021, SHAPE)
    b = prepare_case(find_cases(corpus_dir)[0], SHAPE)
    assert torch.equal(a.labels, b.labels)
    assert torch.allclose(a.images, b.images)


def test_missing_sequence_names_folder_and_file(corpus_dir: Path, tmp_path: Path) -> None:
    folder, case_id = _copy_case(corpus_dir, tmp_path / "d")
    (folder / f"{case_id}-t2f.nii.gz").unlink()
    with pytest.raises(DataError, match=rf"{case_id}: missing {case_id}-t2f.nii.gz"):
        find_cases(tmp_path / "d")


def test_truncated_nifti_names_the_file(corpus_dir: Path, tmp_path: Path) -> None:
    folder, case_id = _copy_case(corpus_dir, tmp_path / "d")
    path = folder / f"{case_id}-t1c.nii.gz"
    path.write_bytes(path.read_bytes()[:500])
    (case,) = find_cases(tmp_path / "d")
    with pytest.raises(DataError, match=rf"{case_id}-t1c.nii.gz: corrupt or truncated"):
        prepare_case(case, SHAPE)


def test_mismatched_shapes_are_named(corpus_dir: Path, tmp_path: Path) -> None:
    folder, case_id = _copy_case(corpus_dir, tmp_path / "d")
    path = folder / f"{case_id}-t2w.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((10, 10, 10), np.float32), np.eye(4)), path)
    (case,) = find_cases(tmp_path / "d")
    with pytest.raises(DataError, match=rf"{case_id}-t2w.nii.gz: shape \(10, 10, 10\) differs"):
        prepare_case(case, SHAPE)


def test_empty_and_missing_directories(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data directory not found"):
        find_cases(tmp_path / "nope")
    with pytest.raises(DataError, match="no case folders"):
        find_cases(tmp_path)
    (tmp_path / "case1").mkdir()
    (tmp_path / "case1" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="case1: no BraTS files found"):
        find_cases(tmp_path)


def test_participants_tsv_gives_covariates(corpus_dir: Path, tmp_path: Path) -> None:
    _, case_id = _copy_case(corpus_dir, tmp_path / "d")
    (tmp_path / "d" / "participants.tsv").write_text(f"case_id\tage\tsex\n{case_id}\t75\tF\n")
    (case,) = find_cases(tmp_path / "d")
    assert (case.age_years, case.sex) == (75.0, "F")
    assert prepare_case(case, SHAPE).covariates.tolist() == [1.0, 1.0, -1.0]


def test_split_is_deterministic_and_holds_out_the_last_cases(corpus_dir: Path) -> None:
    cases = find_cases(corpus_dir)
    train, val = split_cases(list(reversed(cases)), 0.2)
    assert [c.case_id for c in val] == [c.case_id for c in cases[-2:]]
    assert len(train) == 4
