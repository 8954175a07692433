"""The generative decoder: upsamples the small-codebook latent back to an image.

At every resolution flagged in ``cross_attention_levels`` it queries the clinical tokens
through cross-attention (dual path); in the single-path ablation it has no clinical input.

With ``label_conditioning`` the visit's label fractions (brain, necrosis, oedema, enhancing),
average-pooled to each resolution, enter every level through a 3x3x3 convolution added to the
features before the level's residual blocks (full resolution included): the label map, not
the coarse latent, decides where the tumour compartments are drawn. With
``sequence_conditioning`` each level's features are then scaled and shifted per channel by a
learned embedding of the sequence (FiLM, Perez et al., AAAI 2018), initialised to the identity.
"""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from torch import nn
from torch.nn import functional as F

from generator.braing3n.config import TokenizerConfig
from generator.braing3n.models.blocks import SPATIAL_DIMS, ResStage, upsample
from generator.braing3n.models.cross_attention import ClinicalCrossAttention
from generator.braing3n.models.latent_denoiser import CONDITION_CHANNELS, NUM_SEQUENCES

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
        self.label_in = nn.ModuleList()
        self.sequence_film = nn.ModuleList()
        for level, width in enumerate(channels):
            if config.sequence_conditioning:
                film = nn.Embedding(NUM_SEQUENCES, 2 * width)
                nn.init.zeros_(film.weight)
                self.sequence_film.append(film)
            if config.label_conditioning:
                self.label_in.append(
                    Convolution(
                        SPATIAL_DIMS, CONDITION_CHANNELS, width, kernel_size=3, conv_only=True
                    )
                )
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
        fractions: torch.Tensor | None = None,
        sequence: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``context``: clinical tokens ``[B, N, Cc]`` (required when cross-attention exists);
        ``fractions``: label fractions ``[B, 4, *volume]`` (required with label conditioning);
        ``sequence``: sequence indices ``[B]`` (required with sequence conditioning)."""
        if self.label_in and fractions is None:
            raise ValueError("fractions: the label-conditioned decoder needs the label fractions")
        if self.sequence_film and sequence is None:
            raise ValueError("sequence: the sequence-conditioned decoder needs the sequence")
        h = self.conv_in(z)
        for level, stage in enumerate(self.stages):
            if self.label_in:
                pooled = F.adaptive_avg_pool3d(fractions.to(h.dtype), tuple(h.shape[2:]))
                h = h + self.label_in[level](pooled)
            if self.sequence_film:
                scale, shift = self.sequence_film[level](sequence.long()).to(h.dtype).chunk(2, 1)
                h = h * (1.0 + scale[..., None, None, None]) + shift[..., None, None, None]
            h = stage(h)
            key = str(level)
            if key in self.cross:
                if context is None:
                    raise ValueError("context: the dual-path decoder needs clinical tokens")
                h = self.cross[key](h, context, context_shape)
            if level < len(self.ups):
                h = self.ups[level](h)
        return self.conv_out(nn.functional.silu(self.norm_out(h)))
