"""Command line: ``python -m simulation validate|run|calibrate`` (see docs/simulation.md).

Exit codes: 0 success, 1 calibration outside the published intervals, 2 bad input (one line per
problem, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class InputProblem(Exception):
    """A problem with the user's input, reported as lines on stderr with exit code 2."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _load_json(path: str) -> Any:
    file = Path(path)
    if not file.exists():
        raise InputProblem([f"{path}: file not found"])
    if not file.is_file():
        raise InputProblem([f"{path}: not a regular file"])
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputProblem([f"{path}: not UTF-8 text"]) from None
    except OSError as exc:
        raise InputProblem([f"{path}: cannot read ({exc.strerror})"]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputProblem(
            [f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]
        ) from None


def _load_spec(path: str):
    from simulation.spec import SpecError, parse_spec

    data = _load_json(path)
    try:
        return parse_spec(data)
    except SpecError as exc:
        raise InputProblem([str(error) for error in exc.errors]) from None


def _cmd_validate(args: argparse.Namespace) -> int:
    spec = _load_spec(args.spec)
    print(f"{args.spec}: valid ({spec.size} subjects, regimen {spec.regimen})")
    return EXIT_OK


def _progress_bar(total: int):
    if not sys.stderr.isatty():
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="subject", file=sys.stderr)

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return update, bar


def _cmd_run(args: argparse.Namespace) -> int:
    from simulation.output import run_cohort

    spec = _load_spec(args.spec)
    if args.workers < 1:
        raise InputProblem([f"--workers: must be >= 1 (got {args.workers})"])
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputProblem([f"{args.out}: output directory already exists and is not empty"])
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise InputProblem(["--device: cuda requested but no CUDA device is available"])
    if args.backend == "numba" and args.device != "cpu":
        raise InputProblem(["--backend: numba runs on the CPU only; use torch with --device cuda"])
    update, bar = _progress_bar(spec.size)
    try:
        path = run_cohort(
            spec,
            out,
            device=args.device,
            backend=args.backend,
            workers=args.workers,
            progress=update,
        )
    finally:
        if bar is not None:
            bar.close()
    print(f"wrote {spec.size} subjects to {path}")
    return EXIT_OK


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from simulation.calibration import CALIBRATION_VERSION
    from simulation.calibration.report import run_calibration

    print(f"calibration {CALIBRATION_VERSION}: simulated median (95% CI) vs published")
    lines, failures = run_calibration(workers=args.workers, size=args.size)
    for line in lines:
        print(line)
    for failure in failures:
        print(f"OUTSIDE: {failure}")
    return EXIT_FAILED if failures else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a cohort spec")
    validate.add_argument("spec", help="cohort spec JSON file")
    validate.set_defaults(func=_cmd_validate)
    run = commands.add_parser("run", help="simulate a cohort and write it to a directory")
    run.add_argument("spec", help="cohort spec JSON file")
    run.add_argument("--out", required=True, help="output directory (must not exist)")
    run.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    run.add_argument(
        "--backend",
        choices=["numba", "torch"],
        default=None,
        help="growth backend (default: numba on cpu, batched torch on cuda)",
    )
    run.add_argument("--workers", type=int, default=1, help="worker processes")
    run.set_defaults(func=_cmd_run)
    calibrate = commands.add_parser("calibrate", help="reference cohorts vs published arms")
    calibrate.add_argument("--workers", type=int, default=1)
    calibrate.add_argument("--size", type=int, default=None, help="override the cohort size")
    calibrate.set_defaults(func=_cmd_calibrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InputProblem as problem:
        for line in problem.lines:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; no output written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
