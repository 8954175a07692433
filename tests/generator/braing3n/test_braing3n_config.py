"""Configs: bundled names load, round-trip through JSON, and bad ones fail naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.braing3n.config import BrainG3NConfig, config_diff, load_config
from generator.braing3n.errors import ConfigError
from generator.braing3n.models import DualPathTokenizer


@pytest.mark.parametrize("name", ["tiny", "paper", "single_path_tiny"])
def test_bundled_configs_round_trip(name: str) -> None:
    config = load_config(name)
    assert BrainG3NConfig.from_dict(json.loads(config.to_json())) == config


@pytest.mark.parametrize(
    ("name", "clinical", "generative"),
    [("tiny", (256, 32), (64, 16)), ("paper", (16384, 256), (4096, 128))],
)
def test_codebook_sizes_come_from_the_config(name: str, clinical: tuple, generative: tuple) -> None:
    tokenizer = DualPathTokenizer(load_config(name).tokenizer)
    assert tuple(tokenizer.clinical_quantizer.quantizer.embedding.weight.shape) == clinical
    assert tuple(tokenizer.generative_quantizer.quantizer.embedding.weight.shape) == generative


def test_paper_config_follows_the_seed() -> None:
    config = load_config("paper")
    assert config.diffusion.num_train_timesteps == 1000
    assert config.diffusion.num_inference_steps == 50
    assert config.training.amp_bf16
    assert sum(config.tokenizer.decoder_attention) >= 2  # attention at several scales


def test_single_path_ablation_differs_only_in_the_path() -> None:
    assert config_diff(load_config("tiny"), load_config("single_path_tiny")) == [
        "name",
        "tokenizer.dual_path",
    ]


def test_unknown_config_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="'huge' is neither a bundled config"):
        load_config("huge")


def test_unknown_field_is_named(tmp_path: Path) -> None:
    data = load_config("tiny").to_dict()
    data["tokenizer"]["codebook"] = 3
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"bad.json.tokenizer: unknown field\(s\) codebook"):
        load_config(path)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    data = load_config("tiny").to_dict()
    data["training"]["batch_size"] = "two"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"training.batch_size: expected an integer"):
        load_config(path)


def test_indivisible_volume_is_refused() -> None:
    data = load_config("tiny").to_dict()
    data["tokenizer"]["volume_shape"] = [30, 32, 32]
    with pytest.raises(ConfigError, match="volume_shape.*divisible by 8"):
        BrainG3NConfig.from_dict(data)


def test_invalid_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="broken.json: not valid JSON"):
        load_config(path)
