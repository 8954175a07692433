"""``python -m generator render``: end to end on a hand-built simulation directory, and bad input.

The directory follows the simulation's output layout; its anatomy files name the plain MNI152
template, which the generator builds without the simulation package.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from generator.__main__ import main
from generator.corpus import render_simulation_dir
from generator.engine import SEQUENCES, GeneratorInputError
from generator.nifti import read_volume, write_segmentation

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def maps_dir(tmp_path_factory, anatomy, spherical, sites) -> Path:
    root = tmp_path_factory.mktemp("sim") / "run-1"
    (root / "anatomy").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"seed": 7, "kind": "simulation"}))
    (root / "subjects.csv").write_text("subject_id,age,sex\nsub-0001,61,M\nsub-0002,55.5,F\n")
    tumours = {
        "sub-0001": [(sites["right_wm"], 8.0), (sites["right_wm"], 13.0)],
        "sub-0002": [(sites["left_frontal"], 10.0)],
    }
    for subject, visits in tumours.items():
        (root / "anatomy" / f"{subject}.json").write_text(
            json.dumps({"template": "mni152", "resolution_mm": 2})
        )
        for visit, (centre, radius) in enumerate(visits):
            write_segmentation(
                root / "labels" / subject / f"{subject}_visit-{visit:02d}_seg.nii.gz",
                spherical(anatomy, centre, radius),
                anatomy.affine,
            )
    return root


@pytest.fixture(scope="module")
def rendered(maps_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "brats"
    assert main(["render", "--maps", str(maps_dir), "--out", str(out), "--quiet"]) == 0
    return out


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def test_render_writes_brats_layout_for_every_visit(rendered):
    cases = sorted(p.name for p in rendered.iterdir() if p.is_dir())
    assert cases == ["BraTS-GLI-00001-000", "BraTS-GLI-00001-001", "BraTS-GLI-00002-000"]
    for case in cases:
        names = sorted(p.name for p in (rendered / case).iterdir())
        assert names == sorted(f"{case}-{s}.nii.gz" for s in (*SEQUENCES, "seg"))
    manifest = _manifest(rendered)
    assert manifest["engine"] == "physics"
    assert [c["subject_id"] for c in manifest["cases"]] == ["sub-0001", "sub-0001", "sub-0002"]


def test_rendered_headers_and_segmentation(rendered, maps_dir, anatomy):
    case = rendered / "BraTS-GLI-00001-001"
    img = nib.load(case / "BraTS-GLI-00001-001-t1c.nii.gz")
    assert img.header.get_data_dtype() == np.int16
    assert int(img.header["sform_code"]) == 4  # MNI152-based anatomy
    assert np.allclose(img.affine, anatomy.affine)
    assert img.header["descrip"].item().startswith(b"physics ")
    seg = np.asarray(nib.load(case / "BraTS-GLI-00001-001-seg.nii.gz").dataobj)
    source = maps_dir / "labels" / "sub-0001" / "sub-0001_visit-01_seg.nii.gz"
    assert np.array_equal(seg, np.asarray(nib.load(source).dataobj))


def test_rerender_is_byte_identical(rendered, maps_dir, tmp_path):
    again = tmp_path / "again"
    assert main(["render", "--maps", str(maps_dir), "--out", str(again), "--quiet"]) == 0
    first = {c["case_id"]: c["files"] for c in _manifest(rendered)["cases"]}
    second = {c["case_id"]: c["files"] for c in _manifest(again)["cases"]}
    assert first == second
    assert (rendered / "manifest.json").read_bytes() == (again / "manifest.json").read_bytes()


def test_visits_of_one_subject_match_on_disk_far_from_the_tumour(rendered, anatomy, sites):
    ijk = np.indices(anatomy.brain_mask.shape).reshape(3, -1)
    xyz = (anatomy.affine[:3, :3] @ ijk + anatomy.affine[:3, 3:4]).T
    far = (np.linalg.norm(xyz - np.asarray(sites["left_frontal"]), axis=1) < 20).reshape(
        anatomy.brain_mask.shape
    ) & anatomy.brain_mask
    for sequence in SEQUENCES:
        a = read_volume(rendered / "BraTS-GLI-00001-000" / f"BraTS-GLI-00001-000-{sequence}.nii.gz")
        b = read_volume(rendered / "BraTS-GLI-00001-001" / f"BraTS-GLI-00001-001-{sequence}.nii.gz")
        assert np.array_equal(a.data[far], b.data[far]), sequence


def test_subset_of_subjects_and_sequences(maps_dir, tmp_path):
    out = tmp_path / "subset"
    argv = ["render", "--maps", str(maps_dir), "--out", str(out), "--quiet"]
    assert main([*argv, "--subjects", "sub-0002", "--sequences", "t2f"]) == 0
    assert sorted(p.name for p in (out / "BraTS-GLI-00002-000").iterdir()) == [
        "BraTS-GLI-00002-000-seg.nii.gz",
        "BraTS-GLI-00002-000-t2f.nii.gz",
    ]


def test_anatomy_builder_can_be_injected(maps_dir, tmp_path, anatomy):
    seen = []

    def builder(params):
        seen.append(params)
        return anatomy

    render_simulation_dir(
        maps_dir, tmp_path / "o", anatomy_builder=builder, subjects=["sub-0001"], progress=False
    )
    assert seen == [{"template": "mni152", "resolution_mm": 2}]


# ----------------------------------------------------------------------------- bad input


def _broken_copy(maps_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "maps"
    shutil.copytree(maps_dir, copy)
    return copy


def _run(capsys, *argv: str) -> tuple[int, str]:
    status = main([*argv, "--quiet"])
    err = capsys.readouterr().err.strip()
    return status, err


def _assert_one_line_error(status: int, err: str, *fragments: str) -> None:
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err


def _assert_nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_unknown_engine_exits_2_with_the_choices(maps_dir, tmp_path, capsys):
    status, err = _run(
        capsys, "render", "--maps", str(maps_dir), "--out", str(tmp_path / "out"), "--engine", "x"
    )
    _assert_one_line_error(status, err, "unknown engine 'x'", "braing3n, physics")
    _assert_nothing_written(tmp_path)


def test_unknown_sequence_exits_2(maps_dir, tmp_path, capsys):
    out = str(tmp_path / "out")
    status, err = _run(capsys, "render", "--maps", str(maps_dir), "--out", out, "--sequences", "t1")
    _assert_one_line_error(status, err, "unknown sequence 't1'")
    _assert_nothing_written(tmp_path)


def test_truncated_label_map_exits_2_naming_the_file_and_writes_nothing(maps_dir, tmp_path, capsys):
    maps = _broken_copy(maps_dir, tmp_path)
    bad = maps / "labels" / "sub-0002" / "sub-0002_visit-00_seg.nii.gz"
    bad.write_bytes(bad.read_bytes()[:200])
    status, err = _run(capsys, "render", "--maps", str(maps), "--out", str(tmp_path / "out"))
    _assert_one_line_error(status, err, str(bad), "corrupt or truncated")
    _assert_nothing_written(tmp_path)


def test_label_map_on_another_grid_exits_2_naming_the_file(maps_dir, tmp_path, capsys, anatomy):
    maps = _broken_copy(maps_dir, tmp_path)
    bad = maps / "labels" / "sub-0001" / "sub-0001_visit-01_seg.nii.gz"
    shifted = anatomy.affine.copy()
    shifted[0, 3] += 4.0
    write_segmentation(bad, np.zeros(anatomy.brain_mask.shape, np.uint8), shifted)
    status, err = _run(capsys, "render", "--maps", str(maps), "--out", str(tmp_path / "out"))
    _assert_one_line_error(status, err, str(bad), "affine does not match")
    _assert_nothing_written(tmp_path)


def test_label_map_with_a_wrong_shape_exits_2(maps_dir, tmp_path, capsys, anatomy):
    maps = _broken_copy(maps_dir, tmp_path)
    bad = maps / "labels" / "sub-0001" / "sub-0001_visit-01_seg.nii.gz"
    write_segmentation(bad, np.zeros((10, 10, 10), np.uint8), anatomy.affine)
    status, err = _run(capsys, "render", "--maps", str(maps), "--out", str(tmp_path / "out"))
    _assert_one_line_error(status, err, str(bad), "shape (10, 10, 10) differs")
    _assert_nothing_written(tmp_path)


def test_single_visit_on_a_wrong_grid_is_caught_against_the_anatomy(
    maps_dir, tmp_path, capsys, anatomy
):
    maps = _broken_copy(maps_dir, tmp_path)
    bad = maps / "labels" / "sub-0002" / "sub-0002_visit-00_seg.nii.gz"
    write_segmentation(bad, np.zeros((10, 10, 10), np.uint8), anatomy.affine)
    status, err = _run(capsys, "render", "--maps", str(maps), "--out", str(tmp_path / "out"))
    _assert_one_line_error(status, err, str(bad), "differs from the anatomy grid")
    _assert_nothing_written(tmp_path)


def test_label_values_outside_brats_exit_2(maps_dir, tmp_path, capsys, anatomy):
    maps = _broken_copy(maps_dir, tmp_path)
    bad = maps / "labels" / "sub-0002" / "sub-0002_visit-00_seg.nii.gz"
    labels = np.zeros(anatomy.brain_mask.shape, np.uint8)
    labels[40:45, 40:45, 40:45] = 4
    nib.save(nib.Nifti1Image(labels, anatomy.affine), bad)
    status, err = _run(capsys, "render", "--maps", str(maps), "--out", str(tmp_path / "out"))
    _assert_one_line_error(status, err, str(bad), "values [4] are not BraTS 2023 labels")


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda m: (m / "anatomy" / "sub-0002.json").unlink(), "sub-0002.json: file not found"),
        (lambda m: (m / "anatomy" / "sub-0001.json").write_text("{"), "invalid JSON"),
        (
            lambda m: (m / "anatomy" / "sub-0001.json").write_text(
                '{"template": "mni152", "x": 1}'
            ),
            "simulation",
        ),
        (lambda m: (m / "manifest.json").unlink(), "manifest.json: file not found"),
        (lambda m: (m / "subjects.csv").write_text("id,age\n1,2\n"), "needs a header"),
        (lambda m: shutil.rmtree(m / "labels" / "sub-0002"), "no <subject>_visit-<VV>_seg"),
    ],
)
def test_broken_simulation_directory_exits_2(maps_dir, tmp_path, capsys, mutate, fragment):
    maps = _broken_copy(maps_dir, tmp_path)
    mutate(maps)
    status, err = _run(capsys, "render", "--maps", str(maps), "--out", str(tmp_path / "out"))
    _assert_one_line_error(status, err, fragment)
    _assert_nothing_written(tmp_path)


def test_unknown_subject_exits_2(maps_dir, tmp_path, capsys):
    out = str(tmp_path / "out")
    status, err = _run(capsys, "render", "--maps", str(maps_dir), "--out", out, "--subjects", "z")
    _assert_one_line_error(status, err, "subjects: not in", "z")


def test_existing_output_is_kept_unless_overwrite(rendered, maps_dir, capsys, tmp_path):
    before = (rendered / "manifest.json").read_bytes()
    status, err = _run(capsys, "render", "--maps", str(maps_dir), "--out", str(rendered))
    _assert_one_line_error(status, err, "output exists and is not empty")
    assert (rendered / "manifest.json").read_bytes() == before
    out = tmp_path / "o"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    argv = ["render", "--maps", str(maps_dir), "--out", str(out), "--quiet", "--overwrite"]
    assert main([*argv, "--subjects", "sub-0002"]) == 0
    assert not (out / "stale.txt").exists() and (out / "BraTS-GLI-00002-000").is_dir()


def test_real_process_shows_progress_and_no_traceback(maps_dir, tmp_path):
    """One real ``python -m generator`` run for success (progress bar) and one for failure."""
    out = tmp_path / "out"
    ok = subprocess.run(
        [sys.executable, "-m", "generator", "render", "--maps", str(maps_dir), "--out", str(out),
         "--subjects", "sub-0002", "--sequences", "t1n"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "render: 100%" in ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "generator", "render", "--maps", str(tmp_path / "missing"),
         "--out", str(tmp_path / "x")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing'}: maps directory not found"
    ]
    assert "Traceback" not in bad.stderr


def test_render_function_raises_the_input_error_type(tmp_path):
    with pytest.raises(GeneratorInputError, match="maps directory not found"):
        render_simulation_dir(tmp_path / "missing", tmp_path / "out", progress=False)
