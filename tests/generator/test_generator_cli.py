"""The ``python -m generator`` entry point: sub-commands and argument errors."""

from __future__ import annotations

import importlib.util

import pytest

from generator.__main__ import build_parser, main


def _commands(parser) -> set[str]:
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return set(subparsers.choices)


def test_render_and_make_corpus_are_always_there():
    assert {"render", "make-corpus"} <= _commands(build_parser(include_braing3n=False))


@pytest.mark.skipif(
    importlib.util.find_spec("generator.braing3n.cli") is None,
    reason="generator.braing3n.cli not present",
)
def test_train_and_evaluate_come_from_braing3n():
    assert {"train", "evaluate"} <= _commands(build_parser())


@pytest.mark.parametrize(
    "argv",
    [[], ["render", "--maps", "x"], ["make-corpus", "--out", "x"], ["frobnicate"]],
)
def test_argument_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
