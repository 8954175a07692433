"""BrainG3N configurations: nested frozen dataclasses that round-trip through JSON.

A checkpoint stores the config it was trained with; ``BrainG3NConfig.from_dict(to_dict(c)) == c``
so a model can always be rebuilt from its checkpoint alone (as in diffusers).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.braing3n.errors import ConfigError

__all__ = [
    "CONFIG_DIR",
    "BrainG3NConfig",
    "DiffusionConfig",
    "LossConfig",
    "TokenizerConfig",
    "TrainingConfig",
    "config_diff",
    "load_config",
]

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class TokenizerConfig:
    """The dual-path VQ tokenizer (or the single-path ablation when ``dual_path`` is false).

    The clinical path downsamples by ``2 ** (len(encoder_channels) - 1)`` and quantises with the
    large codebook; the generative path downsamples ``generative_downsample_levels`` more times
    and quantises with the small codebook; the decoder upsamples back through
    ``decoder_channels`` (one entry per resolution, coarsest first).

    ``label_conditioning``: the decoder also reads the visit's label fractions (brain,
    necrosis, oedema, enhancing) at every resolution, full resolution included, so tumour
    intensities land exactly where the label map puts them; the latent then only has to carry
    the anatomy and the sequence's contrast.

    ``sequence_conditioning``: every decoder level is modulated (FiLM: per-channel scale and
    shift) by a learned embedding of the sequence being decoded, so each sequence's contrast,
    tumour compartments included, is drawn by the decoder even where the coarse latent is
    ambiguous.
    """

    volume_shape: tuple[int, int, int] = (32, 32, 32)
    dual_path: bool = True
    encoder_channels: tuple[int, ...] = (16, 32)
    encoder_attention: tuple[bool, ...] = (False, True)
    num_res_blocks: int = 1
    clinical_codebook_size: int = 256
    clinical_embedding_dim: int = 32
    generative_downsample_levels: int = 1
    generative_codebook_size: int = 64
    generative_embedding_dim: int = 16
    decoder_channels: tuple[int, ...] = (32, 32, 16)
    decoder_attention: tuple[bool, ...] = (True, False, False)
    cross_attention_levels: tuple[bool, ...] = (True, False, False)
    cross_attention_heads: int = 2
    context_pool: int = 1
    attention_head_channels: int = 16
    norm_groups: int = 8
    commitment_cost: float = 0.25
    ema_decay: float = 0.99
    context_dropout: float = 0.25
    normalize_latents: bool = True
    label_conditioning: bool = True
    sequence_conditioning: bool = True
    use_flash_attention: bool = False

    @property
    def clinical_factor(self) -> int:
        return 2 ** (len(self.encoder_channels) - 1)

    @property
    def total_factor(self) -> int:
        return self.clinical_factor * 2**self.generative_downsample_levels

    @property
    def clinical_shape(self) -> tuple[int, int, int]:
        return tuple(s // self.clinical_factor for s in self.volume_shape)  # type: ignore[return-value]

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return tuple(s // self.total_factor for s in self.volume_shape)  # type: ignore[return-value]


@dataclass(frozen=True)
class DiffusionConfig:
    """The latent DDPM (MONAI ``DiffusionModelUNet``) and its noise schedule."""

    channels: tuple[int, ...] = (32, 64)
    attention_levels: tuple[bool, ...] = (False, True)
    num_res_blocks: int = 1
    num_head_channels: int = 16
    norm_groups: int = 8
    condition_dim: int = 32
    # Ho et al. 2020 (DDPM) and the seed: 1,000 training timesteps.
    num_train_timesteps: int = 1000
    num_inference_steps: int = 50
    # Rombach et al. 2022 (latent diffusion) / MONAI generative tutorials: scaled-linear
    # betas from 0.0015 to 0.0195.
    schedule: str = "scaled_linear_beta"
    beta_start: float = 0.0015
    beta_end: float = 0.0195
    use_flash_attention: bool = False


@dataclass(frozen=True)
class LossConfig:
    """Weights of the tokenizer loss terms (see ``losses.py``)."""

    l1: float = 1.0
    perceptual: float = 0.1
    boundary: float = 1.0
    boundary_weight: float = 4.0
    tumour_weight: float = 1.0
    vq: float = 1.0
    latent_smoothness: float = 0.01
    perceptual_channels: tuple[int, ...] = (8, 16, 32)
    perceptual_seed: int = 20210601


@dataclass(frozen=True)
class TrainingConfig:
    """Staged training: steps per stage, batch, learning rates, precision, checkpointing."""

    batch_size: int = 2
    clinical_steps: int = 100
    decoder_steps: int = 100
    joint_steps: int = 60
    diffusion_steps: int = 300
    learning_rate: float = 2e-3
    joint_lr_scale: float = 0.1
    diffusion_learning_rate: float = 1e-3
    grad_clip: float = 1.0
    save_every: int = 50
    val_fraction: float = 0.2
    amp_bf16: bool = True
    num_workers: int = 0
    cache_dataset: bool = True
    latent_scale_batches: int = 4

    def steps_for(self, stage: str) -> int:
        return int(getattr(self, f"{stage}_steps"))


@dataclass(frozen=True)
class BrainG3NConfig:
    """A complete BrainG3N model + training configuration."""

    name: str = "tiny"
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    losses: LossConfig = field(default_factory=LossConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "config") -> BrainG3NConfig:
        config = _build(cls, data, source)
        validate_config(config, source=source)
        return config


_SECTIONS: dict[str, type] = {
    "tokenizer": TokenizerConfig,
    "diffusion": DiffusionConfig,
    "losses": LossConfig,
    "training": TrainingConfig,
}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Coerce a JSON value to the type of the dataclass default (tuples from lists)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not value:
            raise ConfigError(f"{where}: expected a non-empty list, got {value!r}")
        element = default[0]
        return tuple(_coerce(v, element, f"{where}[{i}]") for i, v in enumerate(value))
    raise ConfigError(f"{where}: unsupported value {value!r}")


def _build(cls: type, data: Any, source: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    defaults = cls()
    for name, value in data.items():
        where = f"{source}.{name}" if source else name
        if cls is BrainG3NConfig and name in _SECTIONS:
            kwargs[name] = _build(_SECTIONS[name], value, where)
        else:
            kwargs[name] = _coerce(value, getattr(defaults, name), where)
    return cls(**kwargs)


def validate_config(config: BrainG3NConfig, *, source: str = "config") -> None:
    """Check the cross-field constraints the networks rely on; raise ``ConfigError``."""
    t, d, tr = config.tokenizer, config.diffusion, config.training
    where = f"{source}.tokenizer"
    if len(t.volume_shape) != 3 or any(s <= 0 for s in t.volume_shape):
        raise ConfigError(f"{where}.volume_shape: need three positive sizes, got {t.volume_shape}")
    if len(t.encoder_attention) != len(t.encoder_channels):
        raise ConfigError(f"{where}.encoder_attention: needs one entry per encoder_channels level")
    levels = len(t.encoder_channels) - 1 + t.generative_downsample_levels + 1
    for name in ("decoder_channels", "decoder_attention", "cross_attention_levels"):
        if len(getattr(t, name)) != levels:
            raise ConfigError(
                f"{where}.{name}: needs {levels} entries (one per decoder resolution), "
                f"got {len(getattr(t, name))}"
            )
    if t.generative_downsample_levels < 0:
        raise ConfigError(f"{where}.generative_downsample_levels: must be >= 0")
    diffusion_factor = 2 ** (len(d.channels) - 1)
    for size in t.volume_shape:
        if size % (t.total_factor * diffusion_factor):
            raise ConfigError(
                f"{where}.volume_shape: {t.volume_shape} must be divisible by "
                f"{t.total_factor * diffusion_factor} (tokenizer x diffusion downsampling)"
            )
    for name in ("encoder_channels", "decoder_channels"):
        for c in getattr(t, name):
            if c % t.norm_groups:
                raise ConfigError(f"{where}.{name}: {c} is not divisible by norm_groups")
    if t.decoder_channels[0] % t.cross_attention_heads:
        raise ConfigError(f"{where}.cross_attention_heads: must divide decoder_channels")
    for name in ("clinical_codebook_size", "generative_codebook_size"):
        if getattr(t, name) < 2:
            raise ConfigError(f"{where}.{name}: a codebook needs at least 2 entries")
    if not 0.0 <= t.context_dropout < 1.0:
        raise ConfigError(f"{where}.context_dropout: must be in [0, 1)")
    if len(d.attention_levels) != len(d.channels) or not any(d.attention_levels):
        raise ConfigError(
            f"{source}.diffusion.attention_levels: one per level, at least one true "
            "(the sequence/covariate context enters through cross-attention)"
        )
    if any(c % d.norm_groups for c in d.channels):
        raise ConfigError(f"{source}.diffusion.channels: must be divisible by norm_groups")
    if not 1 <= d.num_inference_steps <= d.num_train_timesteps:
        raise ConfigError(f"{source}.diffusion.num_inference_steps: must be in [1, train steps]")
    if tr.batch_size < 1:
        raise ConfigError(f"{source}.training.batch_size: must be >= 1")
    if not 0.0 < tr.val_fraction < 1.0:
        raise ConfigError(f"{source}.training.val_fraction: must be in (0, 1)")


def load_config(name_or_path: str | Path) -> BrainG3NConfig:
    """Load a bundled config by name (``tiny``, ``paper``, ``single_path_tiny``) or a JSON file."""
    text = str(name_or_path)
    path = CONFIG_DIR / f"{text}.json" if "/" not in text and not text.endswith(".json") else None
    if path is None or not path.is_file():
        path = Path(text)
    if not path.is_file():
        bundled = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.json")))
        raise ConfigError(f"config: {text!r} is neither a bundled config ({bundled}) nor a file")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from error
    return BrainG3NConfig.from_dict(data, source=str(path))


def config_diff(a: BrainG3NConfig, b: BrainG3NConfig) -> list[str]:
    """Dotted names of the fields that differ between two configs (sorted)."""

    def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flatten(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out

    fa, fb = flatten(a.to_dict()), flatten(b.to_dict())
    return sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))
