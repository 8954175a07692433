"""``python -m generator train`` and ``python -m generator evaluate`` (BrainG3N).

``register(subparsers)`` adds both sub-commands to the package CLI; each sets ``func`` to a
handler returning the exit code. Input errors print one line ``error: <file/field>: <problem>``
to stderr and exit 2, never a traceback. ``python -m generator.braing3n.cli`` runs them alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from generator.engine import GeneratorInputError

__all__ = ["main", "register"]

EXIT_INPUT_ERROR = 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from error
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from error
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_INPUT_ERROR


def run_train(args: argparse.Namespace) -> int:
    """Handler of ``train``."""
    from generator.braing3n.config import load_config
    from generator.braing3n.training import train

    try:
        config = load_config(args.config) if args.config else None
        if config is None and not args.resume:
            return _fail("--config: required unless --resume continues a checkpoint")
        result = train(
            args.data,
            config,
            args.out,
            resume=args.resume,
            steps=args.steps,
            seed=args.seed,
            progress=not args.quiet,
        )
    except GeneratorInputError as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"{error.filename or args.out}: {error.strerror or error}")
    losses = ", ".join(f"{stage} {loss:.4f}" for stage, loss in result.final_losses.items())
    print(
        f"trained {', '.join(result.completed_stages)} in {result.wall_s:.1f} s "
        f"({result.steps_run} steps; final losses: {losses}) -> {result.out_dir}"
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Handler of ``evaluate``."""
    from generator.braing3n.evaluation import evaluate, format_table

    try:
        report = evaluate(
            args.checkpoint,
            args.data,
            seed=args.seed,
            seeds_per_case=args.samples,
            segmenter_steps=args.segmenter_steps,
            inference_steps=args.inference_steps,
        )
    except GeneratorInputError as error:
        return _fail(str(error))
    print(format_table(report))
    if args.json:
        path = Path(args.json)
        try:
            path.write_text(report.to_json())
        except OSError as error:
            return _fail(f"{path}: cannot write ({error.strerror or error})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``train`` and ``evaluate`` to the ``python -m generator`` parser."""
    train_parser = subparsers.add_parser(
        "train",
        help="train BrainG3N (staged) on a BraTS-2021/2023-layout directory",
        description="Staged BrainG3N training: clinical -> decoder -> joint -> diffusion.",
    )
    train_parser.add_argument("--data", required=True, help="BraTS-layout training directory")
    train_parser.add_argument("--config", help="tiny | paper | single_path_tiny | path/to.json")
    train_parser.add_argument("--out", required=True, help="checkpoint directory")
    train_parser.add_argument(
        "--resume", action="store_true", help="continue the checkpoint in --out"
    )
    train_parser.add_argument(
        "--steps", type=_positive_int, help="steps per stage (overrides config)"
    )
    train_parser.add_argument("--seed", type=_non_negative_int, default=0)
    train_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    train_parser.set_defaults(func=run_train)

    eval_parser = subparsers.add_parser(
        "evaluate",
        help="PSNR/SSIM, tumour Dice, FD-3D and diversity of checkpoints",
        description="Evaluate one or more checkpoints side by side on held-out cases.",
    )
    eval_parser.add_argument(
        "--checkpoint",
        required=True,
        action="append",
        help="checkpoint directory (repeat to compare, e.g. dual vs single)",
    )
    eval_parser.add_argument("--data", required=True, help="BraTS-layout directory")
    eval_parser.add_argument(
        "--samples", type=_positive_int, default=3, help="generated seeds per held-out case"
    )
    eval_parser.add_argument("--segmenter-steps", type=_positive_int, default=200)
    eval_parser.add_argument(
        "--inference-steps", type=_positive_int, help="DDIM steps (default: the config's)"
    )
    eval_parser.add_argument("--seed", type=_non_negative_int, default=0)
    eval_parser.add_argument("--json", help="also write the metrics as JSON here")
    eval_parser.set_defaults(func=run_evaluate)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.braing3n.cli")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
