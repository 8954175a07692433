"""The latent denoiser: MONAI ``DiffusionModelUNet`` conditioned on the visit.

Conditioning (so the model renders a *given* simulated tumour):

* spatial: the brain mask and the three BraTS tumour classes as voxel fractions on the latent
  grid, concatenated to the noisy latent as extra input channels;
* global: the sequence (learned embedding) and covariates (age, sex, with "unknown" flags) as
  two context tokens, read by the U-Net's cross-attention transformer blocks.
"""

from __future__ import annotations

import torch
from monai.networks.nets import DiffusionModelUNet
from torch import nn

from generator.braing3n.config import DiffusionConfig

__all__ = [
    "CONDITION_CHANNELS",
    "NUM_COVARIATES",
    "NUM_SEQUENCES",
    "ConditionEncoder",
    "LatentDenoiser",
]

#: Spatial condition channels: brain mask, necrosis, oedema, enhancing (BraTS 2023 labels 1-3).
CONDITION_CHANNELS = 4
#: Covariates: normalised age, age-known flag, sex code (+1 male, -1 female, 0 unknown).
NUM_COVARIATES = 3
#: t1n, t1c, t2w, t2f.
NUM_SEQUENCES = 4


class ConditionEncoder(nn.Module):
    """Sequence index + covariates -> ``[B, 2, condition_dim]`` context tokens."""

    def __init__(self, condition_dim: int) -> None:
        super().__init__()
        self.sequence = nn.Embedding(NUM_SEQUENCES, condition_dim)
        self.covariates = nn.Sequential(
            nn.Linear(NUM_COVARIATES, condition_dim),
            nn.SiLU(),
            nn.Linear(condition_dim, condition_dim),
        )

    def forward(self, sequence: torch.Tensor, covariates: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.sequence(sequence), self.covariates(covariates)], dim=1)


class LatentDenoiser(nn.Module):
    """Predicts the noise in a generative latent given the visit's conditions.

    Args:
        config: diffusion config (U-Net widths, attention levels, condition width).
        latent_channels: generative embedding dimension of the tokenizer.
    """

    def __init__(self, config: DiffusionConfig, latent_channels: int) -> None:
        super().__init__()
        self.conditions = ConditionEncoder(config.condition_dim)
        self.unet = DiffusionModelUNet(
            spatial_dims=3,
            in_channels=latent_channels + CONDITION_CHANNELS,
            out_channels=latent_channels,
            num_res_blocks=config.num_res_blocks,
            channels=config.channels,
            attention_levels=config.attention_levels,
            norm_num_groups=config.norm_groups,
            num_head_channels=config.num_head_channels,
            with_conditioning=True,
            cross_attention_dim=config.condition_dim,
            use_flash_attention=config.use_flash_attention,
        )

    def forward(
        self,
        noisy_latent: torch.Tensor,
        timesteps: torch.Tensor,
        spatial_conditions: torch.Tensor,
        sequence: torch.Tensor,
        covariates: torch.Tensor,
    ) -> torch.Tensor:
        context = self.conditions(sequence, covariates)
        x = torch.cat([noisy_latent, spatial_conditions.to(noisy_latent.dtype)], dim=1)
        return self.unet(x, timesteps, context=context.to(noisy_latent.dtype))
