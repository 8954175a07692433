"""The complete model: tokenizer + latent denoiser + the latent scale found in training."""

from __future__ import annotations

import torch
from torch import nn

from generator.braing3n.config import BrainG3NConfig
from generator.braing3n.models.latent_denoiser import LatentDenoiser
from generator.braing3n.models.tokenizer import DualPathTokenizer

__all__ = ["BrainG3N"]


class BrainG3N(nn.Module):
    """Holds every trained tensor of a checkpoint; built from its config alone.

    ``latent_scale`` multiplies generative latents before diffusion so they have unit variance
    (Rombach et al. 2022, section 4.3 "scale factor"); it is measured at the start of the
    diffusion stage and stored as a buffer.
    """

    def __init__(self, config: BrainG3NConfig) -> None:
        super().__init__()
        self.config = config
        self.tokenizer = DualPathTokenizer(config.tokenizer)
        self.denoiser = LatentDenoiser(config.diffusion, config.tokenizer.generative_embedding_dim)
        self.register_buffer("latent_scale", torch.ones(()))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
