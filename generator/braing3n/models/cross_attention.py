"""Cross-attention through which the generative decoder queries the clinical tokens."""

from __future__ import annotations

import torch
from monai.networks.blocks import CrossAttentionBlock
from torch import nn

from generator.braing3n.models.blocks import fourier_positions

__all__ = ["ClinicalCrossAttention"]

#: Fourier frequencies of the positional code added to queries and keys.
POSITION_FREQUENCIES = 4


class ClinicalCrossAttention(nn.Module):
    """Residual MONAI ``CrossAttentionBlock``: decoder voxels (queries) attend to clinical tokens.

    Both sides get a positional code of their normalised coordinates, so a decoder voxel can
    find the clinical tokens at the same place (content alone could not tell left from right).

    Args:
        query_channels: decoder feature channels at this resolution.
        context_channels: clinical embedding dimension.
        num_heads: attention heads.
        norm_groups: GroupNorm groups applied to the queries.
    """

    def __init__(
        self,
        query_channels: int,
        context_channels: int,
        *,
        num_heads: int,
        norm_groups: int,
        use_flash_attention: bool = False,
    ) -> None:
        super().__init__()
        position_dim = 6 * POSITION_FREQUENCIES
        self.norm = nn.GroupNorm(norm_groups, query_channels)
        self.query_position = nn.Linear(position_dim, query_channels)
        self.context_position = nn.Linear(position_dim, context_channels)
        self.context_norm = nn.LayerNorm(context_channels)
        self.attention = CrossAttentionBlock(
            hidden_size=query_channels,
            num_heads=num_heads,
            context_input_size=context_channels,
            use_flash_attention=use_flash_attention,
        )

    def forward(
        self, x: torch.Tensor, context: torch.Tensor, context_shape: tuple[int, int, int] | None
    ) -> torch.Tensor:
        """``x``: ``[B, C, D, H, W]``; ``context``: ``[B, N, Cc]`` tokens on ``context_shape``
        (``None`` for the learned "no clinical context" token, which carries no position)."""
        b, c, *spatial = x.shape
        queries = self.norm(x).flatten(2).transpose(1, 2)
        queries = queries + self.query_position(
            fourier_positions(tuple(spatial), POSITION_FREQUENCIES, x.device)  # type: ignore[arg-type]
        ).to(queries.dtype)
        context = self.context_norm(context)
        if context_shape is not None:
            context = context + self.context_position(
                fourier_positions(context_shape, POSITION_FREQUENCIES, x.device)
            ).to(context.dtype)
        out = self.attention(queries, context=context)
        return x + out.transpose(1, 2).reshape(b, c, *spatial)
