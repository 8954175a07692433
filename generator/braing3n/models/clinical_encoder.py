"""The clinical encoder: a 3D U-Net-style contracting path with attention at coarse scales.

Its features feed both paths of the tokenizer: the clinical quantiser (large, high-resolution
codebook) and the generative head (small, low-resolution codebook).
"""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from torch import nn

from generator.braing3n.config import TokenizerConfig
from generator.braing3n.models.blocks import SPATIAL_DIMS, ResStage, downsample

__all__ = ["ClinicalEncoder"]


class ClinicalEncoder(nn.Module):
    """``[B, 1, *volume_shape]`` -> ``[B, encoder_channels[-1], *clinical_shape]``.

    Args:
        config: tokenizer config (channels, attention levels, residual blocks per level).
        in_channels: image channels (1: one sequence per volume).
    """

    def __init__(self, config: TokenizerConfig, in_channels: int = 1) -> None:
        super().__init__()
        channels = config.encoder_channels
        self.conv_in = Convolution(
            SPATIAL_DIMS, in_channels, channels[0], kernel_size=3, conv_only=True
        )
        self.stages = nn.ModuleList()
        self.downs = nn.ModuleList()
        for level, width in enumerate(channels):
            self.stages.append(
                ResStage(
                    channels[max(level - 1, 0)] if level == 0 else width,
                    width,
                    num_blocks=config.num_res_blocks,
                    attention=config.encoder_attention[level],
                    head_channels=config.attention_head_channels,
                    norm_groups=config.norm_groups,
                    use_flash_attention=config.use_flash_attention,
                )
            )
            if level < len(channels) - 1:
                self.downs.append(downsample(width, channels[level + 1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level, stage in enumerate(self.stages):
            h = stage(h)
            if level < len(self.downs):
                h = self.downs[level](h)
        return h
