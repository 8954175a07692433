"""Building blocks shared by the tokenizer networks (MONAI blocks, wired for 3D)."""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution, UnetResBlock
from monai.networks.blocks.spatialattention import SpatialAttentionBlock
from torch import nn

__all__ = ["ResStage", "downsample", "fourier_positions", "upsample"]

SPATIAL_DIMS = 3


class ResStage(nn.Module):
    """``num_blocks`` MONAI residual blocks, then optional spatial self-attention.

    Args:
        in_channels: channels entering the stage.
        out_channels: channels leaving it (the first block changes the width).
        num_blocks: residual blocks.
        attention: add a MONAI ``SpatialAttentionBlock`` (self-attention over all voxels).
        head_channels: channels per attention head.
        norm_groups: GroupNorm groups of the attention block.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        num_blocks: int,
        attention: bool,
        head_channels: int,
        norm_groups: int,
        use_flash_attention: bool = False,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for i in range(num_blocks):
            blocks.append(
                UnetResBlock(
                    SPATIAL_DIMS,
                    in_channels if i == 0 else out_channels,
                    out_channels,
                    kernel_size=3,
                    stride=1,
                    norm_name=("group", {"num_groups": norm_groups}),
                )
            )
        if attention:
            blocks.append(
                SpatialAttentionBlock(
                    SPATIAL_DIMS,
                    out_channels,
                    num_head_channels=head_channels,
                    norm_num_groups=norm_groups,
                    use_flash_attention=use_flash_attention,
                )
            )
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


def downsample(channels_in: int, channels_out: int) -> nn.Module:
    """Strided 3x3x3 convolution halving every spatial size."""
    return Convolution(
        SPATIAL_DIMS, channels_in, channels_out, strides=2, kernel_size=3, conv_only=True
    )


def upsample(channels_in: int, channels_out: int) -> nn.Module:
    """Nearest-neighbour x2 upsampling then a 3x3x3 convolution (no checkerboard artefacts)."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        Convolution(SPATIAL_DIMS, channels_in, channels_out, kernel_size=3, conv_only=True),
    )


def fourier_positions(
    shape: tuple[int, int, int], num_frequencies: int, device: torch.device | None = None
) -> torch.Tensor:
    """Sine/cosine features of normalised voxel-centre coordinates: ``[prod(shape), 6F]``.

    Coordinates live in (-1, 1) whatever the grid size, so a coarse query grid and a finer
    clinical grid share one coordinate system and cross-attention can match by position.
    """
    axes = [(torch.arange(n, device=device, dtype=torch.float32) + 0.5) / n * 2 - 1 for n in shape]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
    freqs = (2.0 ** torch.arange(num_frequencies, device=device, dtype=torch.float32)) * torch.pi
    angles = grid[:, :, None] * freqs[None, None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1).reshape(grid.shape[0], -1)
