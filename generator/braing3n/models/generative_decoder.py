"""The generative decoder: upsamples the small-codebook latent back to an image.

At every resolution flagged in ``cross_attention_levels`` it queries the clinical tokens
through cross-attention (dual path); in the single-path ablation it has no clinical input.
"""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from torch import nn

from generator.braing3n.config import TokenizerConfig
from generator.braing3n.models.blocks import SPATIAL_DIMS, ResStage, upsample
from generator.braing3n.models.cross_attention import ClinicalCrossAttention

__all__ = ["GenerativeDecoder"]


class GenerativeDecoder(nn.Module):
    """``[B, generative_embedding_dim, *latent_shape]`` (+ clinical tokens) -> ``[B, 1, *volume]``.

    Args:
        config: tokenizer config; ``config.dual_path`` switches the cross-attention on.
        out_channels: image channels.
    """

    def __init__(self, config: TokenizerConfig, out_channels: int = 1) -> None:
        super().__init__()
        channels = config.decoder_channels
        self.conv_in = Convolution(
            SPATIAL_DIMS,
            config.generative_embedding_dim,
            channels[0],
            kernel_size=3,
            conv_only=True,
        )
        self.stages = nn.ModuleList()
        self.cross = nn.ModuleDict()
        self.ups = nn.ModuleList()
        for level, width in enumerate(channels):
            self.stages.append(
                ResStage(
                    width,
                    width,
                    num_blocks=config.num_res_blocks,
                    attention=config.decoder_attention[level],
                    head_channels=config.attention_head_channels,
                    norm_groups=config.norm_groups,
                    use_flash_attention=config.use_flash_attention,
                )
            )
            if config.dual_path and config.cross_attention_levels[level]:
                self.cross[str(level)] = ClinicalCrossAttention(
                    width,
                    config.clinical_embedding_dim,
                    num_heads=config.cross_attention_heads,
                    norm_groups=config.norm_groups,
                    use_flash_attention=config.use_flash_attention,
                )
            if level < len(channels) - 1:
                self.ups.append(upsample(width, channels[level + 1]))
        self.norm_out = nn.GroupNorm(config.norm_groups, channels[-1])
        self.conv_out = Convolution(
            SPATIAL_DIMS, channels[-1], out_channels, kernel_size=3, conv_only=True
        )

    def forward(
        self,
        z: torch.Tensor,
        context: torch.Tensor | None = None,
        context_shape: tuple[int, int, int] | None = None,
    ) -> torch.Tensor:
        """``context``: clinical tokens ``[B, N, Cc]`` (required when cross-attention exists)."""
        h = self.conv_in(z)
        for level, stage in enumerate(self.stages):
            h = stage(h)
            key = str(level)
            if key in self.cross:
                if context is None:
                    raise ValueError("context: the dual-path decoder needs clinical tokens")
                h = self.cross[key](h, context, context_shape)
            if level < len(self.ups):
                h = self.ups[level](h)
        return self.conv_out(nn.functional.silu(self.norm_out(h)))
