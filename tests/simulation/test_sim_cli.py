"""The CLI contract: exit codes, messages, output layout, byte-identical outputs."""

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from simulation import parse_spec, run_cohort
from simulation.__main__ import main

SPEC = {
    "size": 3,
    "seed": 21,
    "indication": "gbm_newly_diagnosed",
    "regimen": "stupp_rt_tmz",
    "follow_up_months": 5,
}


def write(tmp_path: Path, data, name="spec.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_validate_accepts_a_good_spec(tmp_path, capsys):
    assert main(["validate", write(tmp_path, SPEC)]) == 0
    assert "valid" in capsys.readouterr().out


def test_validate_reports_one_line_per_error_with_exit_2(tmp_path):
    bad = {
        **SPEC,
        "regimen": "nope",
        "demographics": {"sex": {"M": 0.9, "F": 0.3}},
        "eligibility": {"age_min_years": 60, "age_max_years": 30},
    }
    result = subprocess.run(
        [sys.executable, "-m", "simulation", "validate", write(tmp_path, bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert {line.split(":")[0] for line in lines} == {"regimen", "demographics.sex", "eligibility"}
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "(root): the spec must be a JSON object"),
        (
            '{"size": -1, "seed": 1, "indication": "gbm_newly_diagnosed", "regimen": "rt_alone"}',
            "size: -1 is less than the minimum of 1",
        ),
    ],
)
def test_bad_files_exit_2_with_a_clear_message(tmp_path, capsys, content, message):
    assert main(["validate", write(tmp_path, content)]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_and_bad_out_dir(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "absent.json")]) == 2
    assert "file not found" in capsys.readouterr().err
    out = tmp_path / "taken"
    out.mkdir()
    (out / "x").write_text("keep me")
    assert main(["run", write(tmp_path, SPEC), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "x").read_text() == "keep me"


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    spec_path = root / "spec.json"
    spec_path.write_text(json.dumps(SPEC))
    one, two = root / "one", root / "two"
    assert main(["run", str(spec_path), "--out", str(one)]) == 0
    assert main(["run", str(spec_path), "--out", str(two), "--workers", "2"]) == 0
    return one, two


def test_run_writes_the_documented_layout(run_dirs):
    out, _ = run_dirs
    subjects = pd.read_csv(out / "subjects.csv")
    visits = pd.read_csv(out / "assessments.csv")
    assert len(subjects) == 3
    for sid in subjects.subject_id:
        assert (out / "anatomy" / f"{sid}.json").is_file()
        n = (visits.subject_id == sid).sum()
        files = sorted((out / "labels" / sid).glob("*_seg.nii.gz"))
        assert [f.name for f in files] == [f"{sid}_visit-{v:02d}_seg.nii.gz" for v in range(n)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == SPEC["seed"]
    assert manifest["spec"] == parse_spec(SPEC).to_dict()
    assert manifest["software_version"] and manifest["calibration_version"]
    assert manifest["growth"] == {"backend": "numba", "device": "cpu"}
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert sorted(manifest["files"]) == [p for p in on_disk if p != "manifest.json"]
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_label_files_are_mni_uint8_with_deterministic_gzip(run_dirs):
    out, _ = run_dirs
    path = next((out / "labels").rglob("*visit-00_seg.nii.gz"))
    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\x00\x00\x00\x00"  # gzip mtime 0
    image = nib.load(path)
    assert image.shape == (99, 117, 95)
    assert image.get_data_dtype() == np.uint8
    assert int(image.header["sform_code"]) == 4 and int(image.header["qform_code"]) == 4
    assert np.allclose(image.affine[:3, 3], [-98, -134, -72])
    assert set(np.unique(np.asarray(image.dataobj))) <= {0, 1, 2, 3}
    assert len(gzip.decompress(raw)) > 99 * 117 * 95


def test_outputs_are_byte_identical_across_runs_and_worker_counts(run_dirs):
    one, two = run_dirs
    files_one = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    files_two = sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    assert files_one == files_two
    for rel in files_one:
        assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel


def test_failed_run_leaves_nothing_behind(tmp_path):
    def explode(done, total):
        raise RuntimeError("worker killed")

    out = tmp_path / "cohort"
    with pytest.raises(RuntimeError):
        run_cohort(parse_spec(SPEC), out, progress=explode)
    assert list(tmp_path.iterdir()) == []


def test_the_torch_backend_writes_the_same_files(run_dirs, tmp_path):
    one, _ = run_dirs
    out = tmp_path / "torch"
    assert main(["run", write(tmp_path, SPEC), "--out", str(out), "--backend", "torch"]) == 0
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    for rel in files:
        if rel.name != "manifest.json":
            assert (one / rel).read_bytes() == (out / rel).read_bytes(), rel
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["growth"] == {"backend": "torch", "device": "cpu"}
    assert manifest["files"] == json.loads((one / "manifest.json").read_text())["files"]


def test_cuda_without_a_gpu_or_numba_on_cuda_exit_2(tmp_path, capsys):
    import torch

    spec = write(tmp_path, SPEC)
    code = main(
        ["run", spec, "--out", str(tmp_path / "o"), "--device", "cuda", "--backend", "numba"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert ("no CUDA device" in err) if not torch.cuda.is_available() else ("CPU only" in err)
    assert not (tmp_path / "o").exists()
