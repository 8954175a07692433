"""BIDS and BraTS layouts; the BIDS tree passes the BIDS validator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from exports import ExportResult, RunExportData
from exports.bids import DERIVATIVE_NAME

REPO = Path(__file__).resolve().parents[3]
VALIDATOR = REPO / "tools" / "bids-validator" / "node_modules" / ".bin" / "bids-validator"
INSTALL_HINT = "cd tools/bids-validator && npm ci --no-audit --no-fund --ignore-scripts"
SUFFIXES = ("T1w", "ce-gadolinium_T1w", "T2w", "FLAIR")


def test_dataset_description_is_marked_synthetic(bids_tree: Path) -> None:
    description = json.loads((bids_tree / "bids" / "dataset_description.json").read_text())
    assert "SYNTHETIC" in description["Name"]
    assert description["DatasetType"] == "raw"
    versions = {entry["Name"]: entry["Version"] for entry in description["GeneratedBy"]}
    assert versions == {
        "synthetic-control-arm simulation": "0.1.0",
        "synthetic-control-arm generator": "physics-1.0",
    }


def test_bids_files_per_visit(bids_tree: Path, run_data: RunExportData) -> None:
    root = bids_tree / "bids"
    participants = (root / "participants.tsv").read_text().splitlines()
    assert participants[0].split("\t")[:4] == ["participant_id", "subject_id", "age", "sex"]
    assert len(participants) == 1 + len(run_data.subjects)
    for visit in ("00", "01"):
        anat = root / "sub-SCA000001" / f"ses-{visit}" / "anat"
        for suffix in SUFFIXES:
            image = anat / f"sub-SCA000001_ses-{visit}_{suffix}.nii.gz"
            sidecar = json.loads(image.with_name(image.name[:-7] + ".json").read_text())
            assert sidecar["SyntheticData"] is True
            assert nib.load(image).shape == (64, 80, 48)
        dseg = (
            root
            / "derivatives"
            / DERIVATIVE_NAME
            / "sub-SCA000001"
            / f"ses-{visit}"
            / "anat"
            / f"sub-SCA000001_ses-{visit}_dseg.nii.gz"
        )
        labels = np.asarray(nib.load(dseg).dataobj)
        assert labels.dtype == np.uint8 and set(np.unique(labels)) <= {0, 1, 2, 3}
    assert not (root / "sub-SCA000001" / "ses-02").exists()  # visits option honoured
    ce = json.loads(
        (root / "sub-SCA000001/ses-00/anat/sub-SCA000001_ses-00_ce-gadolinium_T1w.json").read_text()
    )
    assert ce["ContrastBolusIngredient"] == "GADOLINIUM"
    table = (root / "derivatives" / DERIVATIVE_NAME / "dseg.tsv").read_text().splitlines()
    assert table[0] == "index\tname\tabbreviation\tcolor" and len(table) == 5


def _validate(folder: Path) -> tuple[dict, list[str]]:
    """Run the validator; return its JSON report and its errors as 'KEY: [files]'."""
    if not VALIDATOR.exists():
        message = f"BIDS validator not installed; run: {INSTALL_HINT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH but tools/bids-validator is installed")
    completed = subprocess.run(
        [str(VALIDATOR), str(folder), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(completed.stdout)
    errors = []
    for issue in report["issues"]["errors"]:
        files = [f["file"]["relativePath"] for f in issue.get("files", []) if f.get("file")]
        errors.append(f"{issue['key']}: {files[:3]}")
    return report, errors


def test_bids_validator_passes(bids_tree: Path) -> None:
    """The legacy Node BIDS validator (tools/bids-validator) reports no errors."""
    report, errors = _validate(bids_tree / "bids")
    assert errors == [], errors
    assert report["summary"]["subjects"] == [f"SCA{i:06d}" for i in range(1, 7)]
    assert set(report["summary"]["dataTypes"]) == {"T1w", "T2w", "FLAIR"}


def test_brats_layout(brats_export: ExportResult) -> None:
    with zipfile.ZipFile(brats_export.path) as archive:
        names = set(archive.namelist())
    assert not any(name.startswith(("sdtm/", "adam/", "bids/")) for name in names)
    for sequence in ("t1n", "t1c", "t2w", "t2f", "seg"):
        assert f"brats/BraTS-GLI-00001-000/BraTS-GLI-00001-000-{sequence}.nii.gz" in names
    assert "brats/cases.tsv" in names and "brats/README.md" in names
    assert not any("-001-" in name for name in names)  # only visit 0 requested


def test_bids_validator_catches_a_broken_tree(bids_tree: Path, tmp_path: Path) -> None:
    """The check above can fail: a misnamed image and a missing description are errors."""
    broken = tmp_path / "bids"
    shutil.copytree(bids_tree / "bids", broken, ignore=shutil.ignore_patterns("derivatives"))
    anat = broken / "sub-SCA000001" / "ses-00" / "anat"
    (anat / "sub-SCA000001_ses-00_T1w.nii.gz").rename(anat / "sub-SCA000001_ses-00_T1.nii.gz")
    _, errors = _validate(broken)
    assert errors
