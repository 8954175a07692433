"""Checkpoints: a directory with the config, the weights and a manifest of SHA-256 hashes.

    CKPT_DIR/config.json          the BrainG3NConfig the weights were trained with
    CKPT_DIR/model.pt             the state dict (tensors only; loaded with weights_only=True)
    CKPT_DIR/manifest.json        format, SHA-256 of model.pt and of the config, stages done
    CKPT_DIR/training_state.pt    optimiser + position in the stage schedule (only for --resume)

Every file is written to a temporary name and renamed, the manifest last, so an interrupted
save leaves the previous checkpoint intact. Loading verifies the hashes and refuses a config
that differs from the one recorded at training time, naming the differing fields.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from generator.braing3n.config import BrainG3NConfig, config_diff
from generator.braing3n.errors import CheckpointError, ConfigError
from generator.braing3n.models import BrainG3N

__all__ = [
    "CHECKPOINT_FORMAT",
    "LoadedCheckpoint",
    "load_checkpoint",
    "load_training_state",
    "save_checkpoint",
    "sha256_file",
]

CHECKPOINT_FORMAT = "braing3n-checkpoint/1"
CONFIG_FILE = "config.json"
MODEL_FILE = "model.pt"
MANIFEST_FILE = "manifest.json"
TRAINING_STATE_FILE = "training_state.pt"
#: Checkpoint files are shipped and shared: world-readable, owner-writable.
FILE_MODE = 0o644


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A verified checkpoint: the model (eval mode), its config and manifest."""

    model: BrainG3N
    config: BrainG3NConfig
    manifest: dict[str, Any]
    path: Path

    @property
    def sha256(self) -> str:
        return str(self.manifest["model_sha256"])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    model: BrainG3N,
    directory: str | Path,
    *,
    completed_stages: list[str],
    training_state: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and optionally the resume state) into ``directory``; return it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config_text = model.config.to_json()
    _atomic_write(directory / CONFIG_FILE, lambda h: h.write(config_text.encode()))
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic_write(directory / MODEL_FILE, lambda h: torch.save(state, h))
    if training_state is not None:
        _atomic_write(directory / TRAINING_STATE_FILE, lambda h: torch.save(training_state, h))
    manifest = {
        "format": CHECKPOINT_FORMAT,
        "config_name": model.config.name,
        "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),
        "config": model.config.to_dict(),
        "model_file": MODEL_FILE,
        "model_sha256": sha256_file(directory / MODEL_FILE),
        "num_parameters": model.num_parameters(),
        "completed_stages": list(completed_stages),
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    _atomic_write(directory / MANIFEST_FILE, lambda h: h.write(text.encode()))
    return directory


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (not a BrainG3N checkpoint directory?)")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from error


def load_checkpoint(
    directory: str | Path,
    *,
    expected_config: BrainG3NConfig | None = None,
    map_location: str | torch.device = "cpu",
) -> LoadedCheckpoint:
    """Load and verify a checkpoint; raise ``CheckpointError`` naming the file and problem.

    ``expected_config``: refuse the checkpoint unless it was trained with exactly this config.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: checkpoint directory not found")
    manifest = _read_json(directory / MANIFEST_FILE)
    if not isinstance(manifest, dict) or manifest.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{directory / MANIFEST_FILE}: format is not {CHECKPOINT_FORMAT!r}")
    config_path = directory / CONFIG_FILE
    try:
        config = BrainG3NConfig.from_dict(_read_json(config_path), source=str(config_path))
        recorded = BrainG3NConfig.from_dict(manifest.get("config"), source="manifest.config")
    except ConfigError as error:
        raise CheckpointError(str(error)) from error
    changed = config_diff(recorded, config)
    if changed:
        raise CheckpointError(
            f"{config_path}: does not match the config the weights were trained with "
            f"(differs in {', '.join(changed[:6])})"
        )
    if expected_config is not None:
        changed = config_diff(config, expected_config)
        if changed:
            raise CheckpointError(
                f"{directory}: checkpoint config {config.name!r} does not match the requested "
                f"config {expected_config.name!r} (differs in {', '.join(changed[:6])})"
            )
    model_path = directory / str(manifest.get("model_file", MODEL_FILE))
    if not model_path.is_file():
        raise CheckpointError(f"{model_path}: missing")
    digest = sha256_file(model_path)
    if digest != manifest.get("model_sha256"):
        raise CheckpointError(
            f"{model_path}: SHA-256 {digest[:12]}... does not match the manifest "
            f"({str(manifest.get('model_sha256'))[:12]}...): corrupt or replaced"
        )
    try:
        state = torch.load(model_path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for corrupt archives
        raise CheckpointError(f"{model_path}: unreadable ({type(error).__name__})") from error
    model = BrainG3N(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise CheckpointError(
            f"{model_path}: weights do not fit config {config.name!r} ({first[1].strip() if len(first) > 1 else first[0]})"
        ) from error
    model.to(map_location)
    model.eval()
    return LoadedCheckpoint(model, config, manifest, directory)


def load_training_state(directory: str | Path) -> dict[str, Any] | None:
    """The resume state saved next to the weights, or ``None`` when there is none."""
    path = Path(directory) / TRAINING_STATE_FILE
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"{path}: unreadable ({type(error).__name__})") from error
