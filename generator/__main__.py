"""``python -m generator render|make-corpus|train|evaluate``.

Errors in the input (bad files, unknown engine/sequence, wrong shapes) print one line,
``error: <file or field>: <problem>``, and exit with status 2 — never a traceback.

Subcommands register a handler with ``parser.set_defaults(func=handler)``; the handler takes the
parsed ``argparse.Namespace`` and returns an exit status (``None`` means 0). ``train`` and
``evaluate`` come from ``generator.braing3n.cli.register(subparsers)`` when that module imports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from generator.engine import ENGINES, SEQUENCES, GeneratorInputError

EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130


def _cmd_render(args: argparse.Namespace) -> int:
    from generator.corpus import render_simulation_dir
    from generator.engine import get_engine

    engine = get_engine(args.engine)
    out = render_simulation_dir(
        args.maps,
        args.out,
        engine=engine,
        subjects=args.subjects,
        sequences=args.sequences,
        space=args.space,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(f"rendered {args.maps} with {engine.name} {engine.version} into {out}")
    return 0


def _cmd_make_corpus(args: argparse.Namespace) -> int:
    from generator.corpus import make_corpus

    out = make_corpus(
        args.out,
        n=args.n,
        seed=args.seed,
        resolution_mm=args.resolution_mm,
        engine=args.engine,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(f"wrote {args.n} cases (seed {args.seed}, {args.resolution_mm} mm) into {out}")
    return 0


#: Sub-commands defined here; the others come from ``generator.braing3n.cli``.
_OWN_COMMANDS = ("render", "make-corpus")


def build_parser(*, include_braing3n: bool = True) -> argparse.ArgumentParser:
    """The CLI parser; ``include_braing3n=False`` skips importing the neural stack."""
    parser = argparse.ArgumentParser(
        prog="python -m generator", description="Synthetic MRI for simulated glioblastoma."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True

    render = subparsers.add_parser(
        "render", help="render a simulation output directory into BraTS-layout NIfTI"
    )
    render.add_argument("--maps", required=True, help="simulation output directory")
    render.add_argument(
        "--engine", default="physics", help=f"engine ({', '.join(sorted(ENGINES))})"
    )
    render.add_argument("--out", required=True, help="output directory (created atomically)")
    render.add_argument("--subjects", nargs="+", metavar="ID", help="only these subject ids")
    render.add_argument(
        "--sequences",
        nargs="+",
        default=list(SEQUENCES),
        metavar="SEQ",
        help=f"sequences to render (default: {' '.join(SEQUENCES)})",
    )
    render.add_argument(
        "--space",
        choices=("mni", "scanner"),
        default="mni",
        help="NIfTI sform/qform code: mni (4, default: the anatomy is MNI152-based) or scanner (1)",
    )
    render.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(func=_cmd_render)

    corpus = subparsers.add_parser(
        "make-corpus", help="write a synthetic BraTS-layout training corpus (physics engine)"
    )
    corpus.add_argument("--out", required=True, help="output directory (created atomically)")
    corpus.add_argument("--n", type=int, required=True, help="number of cases")
    corpus.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    corpus.add_argument(
        "--resolution-mm", type=int, choices=(1, 2), default=2, help="grid spacing (default 2)"
    )
    corpus.add_argument("--engine", default="physics", help="engine (default physics)")
    corpus.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    corpus.add_argument("--quiet", action="store_true", help="no progress bar")
    corpus.set_defaults(func=_cmd_make_corpus)

    if include_braing3n:
        try:
            from generator.braing3n.cli import register
        except ImportError:
            pass  # the neural stack is optional: render and make-corpus work without it
        else:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    # render/make-corpus do not need torch: keep their start-up fast.
    parser = build_parser(include_braing3n=command not in _OWN_COMMANDS)
    args = parser.parse_args(argv)
    handler = getattr(args, "func", None) or getattr(args, "handler", None)
    if handler is None:
        parser.error(f"command {args.command!r} has no handler")
    try:
        status = handler(args)
    except (GeneratorInputError, ValueError, OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0 if status is None else int(status)


if __name__ == "__main__":
    raise SystemExit(main())
