"""Session fixtures for the BrainG3N tests: a tiny corpus and a briefly trained checkpoint.

The corpus comes from the project's own ``generator.corpus.make_corpus`` (physics engine on the
MNI152 2 mm grid); training uses the ``tiny`` config with a few steps per stage, so every
module runs for real in a few seconds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from generator.braing3n.cli import main as cli_main
from generator.braing3n.config import BrainG3NConfig, load_config

#: Corpus size and seed of the test corpus (6 cases: 4 train, 2 held out at val_fraction 0.2).
TEST_CORPUS_CASES = 6
TEST_CORPUS_SEED = 11
#: Steps per stage of the session checkpoint.
TEST_TRAIN_STEPS = 3


@pytest.fixture(autouse=True, scope="session")
def _two_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def tiny_config() -> BrainG3NConfig:
    return load_config("tiny")


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from generator.corpus import make_corpus

    out = tmp_path_factory.mktemp("braing3n") / "corpus"
    make_corpus(out, n=TEST_CORPUS_CASES, seed=TEST_CORPUS_SEED, progress=False)
    return out


@pytest.fixture(scope="session")
def trained_checkpoint(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny model trained through the CLI (every stage, TEST_TRAIN_STEPS steps each)."""
    out = tmp_path_factory.mktemp("braing3n") / "ckpt"
    code = cli_main(
        [
            "train",
            "--data",
            str(corpus_dir),
            "--config",
            "tiny",
            "--out",
            str(out),
            "--steps",
            str(TEST_TRAIN_STEPS),
            "--quiet",
        ]
    )
    assert code == 0
    return out


@pytest.fixture()
def checkpoint_copy(trained_checkpoint: Path, tmp_path: Path) -> Path:
    """A private copy of the session checkpoint that a test may damage."""
    target = tmp_path / "ckpt"
    shutil.copytree(trained_checkpoint, target)
    return target
