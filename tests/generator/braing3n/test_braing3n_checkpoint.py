"""Checkpoints round-trip and refuse mismatched configs, edited configs and damaged weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from generator.braing3n.checkpoint import load_checkpoint, save_checkpoint, sha256_file
from generator.braing3n.config import load_config
from generator.braing3n.errors import CheckpointError
from generator.braing3n.models import BrainG3N


def test_round_trip_restores_every_tensor(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = BrainG3N(load_config("tiny"))
    model.latent_scale.fill_(1.7)
    save_checkpoint(model, tmp_path / "c", completed_stages=["clinical"])
    loaded = load_checkpoint(tmp_path / "c")
    assert loaded.config == model.config
    assert loaded.manifest["completed_stages"] == ["clinical"]
    assert loaded.sha256 == sha256_file(tmp_path / "c" / "model.pt")
    original, restored = model.state_dict(), loaded.model.state_dict()
    assert original.keys() == restored.keys()
    assert all(torch.equal(original[k], restored[k]) for k in original)


def test_requested_config_must_match(checkpoint_copy: Path) -> None:
    with pytest.raises(
        CheckpointError,
        match=r"does not match the requested config "
        r"'single_path_tiny' \(differs in name, tokenizer.dual_path\)",
    ):
        load_checkpoint(checkpoint_copy, expected_config=load_config("single_path_tiny"))


def test_edited_config_file_is_refused(checkpoint_copy: Path) -> None:
    path = checkpoint_copy / "config.json"
    data = json.loads(path.read_text())
    data["tokenizer"]["clinical_codebook_size"] = 512
    path.write_text(json.dumps(data))
    with pytest.raises(
        CheckpointError,
        match=r"config.json: does not match the config the "
        r"weights were trained with \(differs in tokenizer.clinical_codebook_size\)",
    ):
        load_checkpoint(checkpoint_copy)


def test_damaged_weights_are_refused(checkpoint_copy: Path) -> None:
    path = checkpoint_copy / "model.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model.pt: SHA-256 .* does not match the manifest"):
        load_checkpoint(checkpoint_copy)


def test_missing_directory_and_manifest_are_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint directory not found"):
        load_checkpoint(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"manifest.json: missing"):
        load_checkpoint(tmp_path / "empty")
