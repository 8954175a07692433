"""``train`` / ``evaluate`` CLIs: bad input exits 2 with one line naming the problem."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.braing3n.cli import main, register


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def test_register_adds_train_and_evaluate() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--data", "d", "--config", "tiny", "--out", "o"])
    assert args.func.__name__ == "run_train"
    args = parser.parse_args(["evaluate", "--checkpoint", "a", "--checkpoint", "b", "--data", "d"])
    assert args.checkpoint == ["a", "b"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--data", "{tmp}/none", "--config", "tiny", "--out", "{tmp}/o"],
            "none: data directory not found",
        ),
        (
            ["train", "--data", "{corpus}", "--config", "huge", "--out", "{tmp}/o"],
            "config: 'huge' is neither a bundled config",
        ),
        (["train", "--data", "{corpus}", "--out", "{tmp}/o"], "--config: required unless --resume"),
        (["evaluate", "--checkpoint", "{tmp}", "--data", "{corpus}"], "manifest.json: missing"),
        (
            ["evaluate", "--checkpoint", "{tmp}/none", "--data", "{corpus}"],
            "checkpoint directory not found",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str],
    message: str,
    corpus_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [a.format(tmp=tmp_path, corpus=corpus_dir) for a in argv]
    code, err = _run(argv, capsys)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err


def test_missing_sequence_in_training_data_exits_2(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(corpus_dir, data)
    victim = sorted(p for p in data.iterdir() if p.is_dir())[1]
    (victim / f"{victim.name}-t1n.nii.gz").unlink()
    code, err = _run(
        [
            "train",
            "--data",
            str(data),
            "--config",
            "tiny",
            "--out",
            str(tmp_path / "o"),
            "--steps",
            "1",
            "--quiet",
        ],
        capsys,
    )
    assert code == 2
    assert f"{victim.name}: missing {victim.name}-t1n.nii.gz" in err
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_existing_checkpoint_without_resume_exits_2(
    trained_checkpoint: Path, corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(
        [
            "train",
            "--data",
            str(corpus_dir),
            "--config",
            "tiny",
            "--out",
            str(trained_checkpoint),
            "--quiet",
        ],
        capsys,
    )
    assert code == 2 and "pass --resume" in err


def test_argument_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator.braing3n.cli",
            "train",
            "--data",
            str(tmp_path),
            "--config",
            "tiny",
            "--out",
            str(tmp_path / "o"),
            "--steps",
            "zero",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "'zero' is not an integer" in result.stderr


def test_evaluate_prints_the_side_by_side_table(
    trained_checkpoint: Path, corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(trained_checkpoint),
            "--checkpoint",
            str(trained_checkpoint),
            "--data",
            str(corpus_dir),
            "--samples",
            "2",
            "--segmenter-steps",
            "2",
            "--inference-steps",
            "2",
            "--json",
            str(tmp_path / "m.json"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "| Model | FD-3D ↓ | Dice (tumour) ↑ |" in out
    assert "not Inception FID" in out
    assert out.count("| BrainG3N tiny (dual-path) |") == 2
    assert (tmp_path / "m.json").is_file()
