"""build_export: archive layout, manifest, determinism, progress, atomicity, bad input."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from exports_testdata import make_run_data

from exports import (
    MANIFEST_NAME,
    ExportError,
    ExportOptions,
    ExportResult,
    RunExportData,
    build_export,
    verify_archive,
)
from exports.archive import FIXED_DATE_TIME


def test_archive_entries_are_sorted_with_fixed_metadata(bids_export: ExportResult) -> None:
    with zipfile.ZipFile(bids_export.path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {FIXED_DATE_TIME}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    stored = {info.filename for info in infos if info.compress_type == zipfile.ZIP_STORED}
    assert stored == {name for name in names if name.endswith(".gz")}


def test_manifest_has_provenance_and_every_checksum(
    bids_export: ExportResult, run_data: RunExportData, bids_options: ExportOptions
) -> None:
    with zipfile.ZipFile(bids_export.path) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
        names = set(archive.namelist()) - {MANIFEST_NAME}
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]
    assert manifest == bids_export.manifest
    assert {entry["path"] for entry in manifest["files"]} == names
    assert manifest["synthetic"] is True
    assert manifest["seed"] == run_data.seed
    assert manifest["spec"] == run_data.spec
    assert manifest["versions"] == run_data.versions
    assert manifest["options"] == bids_options.to_dict()
    assert manifest["counts"]["images"] == 6 * 2 * 4  # subjects x visits x sequences
    assert verify_archive(bids_export.path) == []


def test_verify_archive_detects_tampering(bids_export: ExportResult, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bids_export.path) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "sdtm/dm.csv":
                data = data.replace(b"SYNTH", b"REAL!")
            target.writestr(info, data)
    assert verify_archive(tampered) == ["sdtm/dm.csv: SHA-256 differs from the manifest"]


def test_same_run_exported_twice_is_byte_identical(
    bids_export: ExportResult, bids_options: ExportOptions, tmp_path: Path
) -> None:
    """A fresh copy of the run (same seed), another folder and file name: same bytes."""
    again = build_export(
        run_data=make_run_data(6), options=bids_options, out_path=tmp_path / "other-name.zip"
    )
    assert again.sha256 == bids_export.sha256
    assert again.path.read_bytes() == bids_export.path.read_bytes()


def test_different_seed_gives_a_different_archive(tmp_path: Path) -> None:
    options = ExportOptions(imaging=False)
    a = build_export(run_data=make_run_data(3, seed=1), options=options, out_path=tmp_path / "a")
    b = build_export(run_data=make_run_data(3, seed=2), options=options, out_path=tmp_path / "b")
    assert a.sha256 != b.sha256


def test_progress_counts_up_to_total(bids_build) -> None:
    _, calls = bids_build
    totals = {total for _, total in calls}
    assert len(totals) == 1
    total = totals.pop()
    assert total == 1 + 6 * 2 + 1  # tabular, each subject-visit, archive
    assert [done for done, _ in calls] == list(range(0, total + 1))


def test_dataset_selection(tmp_path: Path) -> None:
    options = ExportOptions(datasets=("dm", "ADTTE"), imaging=False, csv=False)
    result = build_export(run_data=make_run_data(2), options=options, out_path=tmp_path / "x")
    names = {entry["path"] for entry in result.manifest["files"]}
    assert names == {
        "sdtm/dm.xpt",
        "sdtm/suppdm.xpt",
        "sdtm/co.xpt",
        "sdtm/define.xml",
        "adam/adtte.xpt",
        "adam/define.xml",
    }


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"datasets": ("DM", "LB")}, "datasets: unknown dataset 'LB'"),
        ({"datasets": "DM"}, "datasets: must be a list"),
        ({"sequences": ("t1n", "dwi")}, "sequences: unknown sequence 'dwi'"),
        ({"resolution_mm": 0.0}, "resolution_mm: 0.0 mm is not supported"),
        ({"resolution_mm": 3}, "resolution_mm: 3 mm is not supported"),
        ({"resolution_mm": float("nan")}, "resolution_mm: nan mm"),
        ({"resolution_mm": "2"}, "resolution_mm: '2' is not a number"),
        ({"layout": "nifti"}, "layout: 'nifti' is not one of bids, brats"),
        ({"visits": (0, -1)}, "visits: -1 is not a visit number"),
    ],
)
def test_bad_options_name_the_option(options: dict, message: str) -> None:
    with pytest.raises(ExportError, match=message.replace("(", r"\(")):
        ExportOptions(**options)


def test_options_from_api_json() -> None:
    options = ExportOptions.from_dict({"datasets": ["adsl"], "visits": [1, 0], "resolution_mm": 2})
    assert options.datasets == ("ADSL",) and options.visits == (0, 1)
    assert ExportOptions.from_dict(options.to_dict()) == options
    with pytest.raises(ExportError, match="options: unknown option\\(s\\) colour"):
        ExportOptions.from_dict({"colour": "red"})


def _export(tmp_path: Path, data: RunExportData, **options) -> Path:
    out = tmp_path / "export.zip"
    build_export(run_data=data, options=ExportOptions(**options), out_path=out)
    return out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: dataclasses.replace(d, subjects=d.subjects.iloc[0:0]),
            "subjects: the run has no subjects",
        ),
        (
            lambda d: dataclasses.replace(d, subjects=d.subjects.drop(columns=["os_months"])),
            "subjects: missing column\\(s\\) os_months",
        ),
        (
            lambda d: dataclasses.replace(d, subjects=pd.concat([d.subjects, d.subjects])),
            "subjects.subject_id: missing or duplicated",
        ),
        (lambda d: dataclasses.replace(d, render_visit=None), "render_visit: imaging"),
        (lambda d: dataclasses.replace(d, label_map=None), "label_map: imaging"),
        (
            lambda d: dataclasses.replace(d, spec={**d.spec, "when": object()}),
            "spec: object value is not JSON-serialisable",
        ),
        (
            lambda d: dataclasses.replace(d, subjects=d.subjects.assign(race="martian")),
            "race 'martian' has no CDISC RACE mapping",
        ),
    ],
)
def test_bad_run_data_is_rejected_before_writing(tmp_path: Path, change, message) -> None:
    data = change(make_run_data(2))
    with pytest.raises(ExportError, match=message):
        _export(tmp_path, data, resolution_mm=2.0, visits=(0,))
    assert list(tmp_path.iterdir()) == []


def test_unknown_visit_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="visits: \\[99\\] not in this run"):
        _export(tmp_path, make_run_data(2), visits=(99,), resolution_mm=2.0)


def test_missing_output_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="out_path: folder .* does not exist"):
        build_export(
            run_data=make_run_data(1),
            options=ExportOptions(imaging=False),
            out_path=tmp_path / "nowhere" / "x.zip",
        )


def test_failure_mid_build_leaves_no_archive(tmp_path: Path) -> None:
    """A render callback dying on the third visit: nothing at out_path, no staging left."""
    data = make_run_data(2)
    calls = 0

    def dying_render(subject_id, visit, sequences, resolution_mm):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        return data.render_visit(subject_id, visit, sequences, resolution_mm)

    broken = dataclasses.replace(data, render_visit=dying_render)
    with pytest.raises(OSError, match="No space left"):
        _export(tmp_path, broken, resolution_mm=2.0, sequences=("t1n",))
    assert calls == 3
    assert list(tmp_path.iterdir()) == []


def test_render_returning_a_wrong_volume_is_a_clear_error(tmp_path: Path) -> None:
    data = make_run_data(1)
    broken = dataclasses.replace(
        data, render_visit=lambda s, v, seqs, r: {"t1n": data.render_visit(s, v, seqs, r)["t1n"]}
    )
    with pytest.raises(ExportError, match="render_visit: no 't1c' volume for SCA-000001"):
        _export(tmp_path, broken, resolution_mm=2.0, sequences=("t1n", "t1c"))
    assert list(tmp_path.iterdir()) == []


def test_failed_rebuild_keeps_nothing_half_written(tmp_path: Path) -> None:
    """An existing complete archive is only ever replaced by another complete one."""
    out = tmp_path / "export.zip"
    build_export(run_data=make_run_data(1), options=ExportOptions(imaging=False), out_path=out)
    before = out.read_bytes()
    bad = dataclasses.replace(make_run_data(1), label_map=lambda s, v: (None, None))
    with pytest.raises(ExportError, match="label_map"):
        build_export(
            run_data=bad, options=ExportOptions(resolution_mm=2.0, sequences=()), out_path=out
        )
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.zip"]


def test_a_real_write_refused_by_the_kernel_leaves_no_archive(tmp_path: Path) -> None:
    """The kernel refuses writes past a file-size limit (as with a full disk): no archive, no
    staging folder, and the process reports the OS error instead of a half-written zip."""
    import subprocess
    import sys
    import textwrap

    here = Path(__file__).resolve().parent
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        sys.path[:0] = [{str(here)!r}, {str(here.parents[2] / "platform")!r}]
        from pathlib import Path
        from exports import ExportOptions, build_export
        from exports_testdata import make_run_data
        data = make_run_data(2)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))
        try:
            build_export(run_data=data, options=ExportOptions(resolution_mm=2.0),
                         out_path=Path({str(tmp_path / "export.zip")!r}))
        except OSError as exc:
            print("refused", exc.errno)
            sys.exit(3)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("refused")
    assert list(tmp_path.iterdir()) == []
