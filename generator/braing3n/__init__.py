"""BrainG3N: dual-path VQ tokenizer + latent diffusion for 3D brain MRI, on MONAI.

Layout follows diffusers: ``models/`` (one network per file), ``schedulers.py`` (MONAI DDPM /
DDIM), ``pipelines.py`` (the sampling loop), ``training.py`` (staged training), ``losses.py``,
``data.py`` (BraTS reader), ``evaluation.py``, ``checkpoint.py`` and ``configs/``.
"""

from generator.braing3n.checkpoint import LoadedCheckpoint, load_checkpoint, save_checkpoint
from generator.braing3n.config import BrainG3NConfig, load_config
from generator.braing3n.errors import BrainG3NError, CheckpointError, ConfigError, DataError
from generator.braing3n.models import BrainG3N
from generator.braing3n.pipelines import BrainG3NPipeline

__all__ = [
    "BrainG3N",
    "BrainG3NConfig",
    "BrainG3NError",
    "BrainG3NPipeline",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "LoadedCheckpoint",
    "load_checkpoint",
    "load_config",
    "save_checkpoint",
]
