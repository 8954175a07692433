"""Tokenizer losses: L1, random-feature perceptual, tumour-boundary-weighted L1, VQ terms.

Perceptual term. The seed uses a 3D ResNet-50 pretrained on medical images; MONAI's
``PerceptualLoss`` downloads such weights, which this project may not do. We use a *fixed,
randomly initialised* multi-scale 3D conv network instead (seeded, never trained, rebuilt from
the config so it is not stored in checkpoints). Amir & Weiss, "Understanding and Simplifying
Perceptual Distances", CVPR 2021, show that deep features of random-weight networks already
give a perceptual distance close to that of trained ones; it also cannot leak anything from
another data set. Features are unit-normalised per voxel across channels, as in LPIPS
(Zhang et al., CVPR 2018).

Segmentation-aware term. Tumour boundaries come from the label map by a morphological gradient
(3x3x3 dilation minus erosion of each tumour class); voxels there weigh ``1 + boundary_weight``
and tumour voxels ``1 + tumour_weight``, so errors where the radiologist measures count more.

VQ terms. The codebooks are EMA-updated (van den Oord et al. 2017, appendix; MONAI
``EMAQuantizer``), which replaces the codebook loss; the commitment loss comes back from the
quantisers as ``vq_loss``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from generator.braing3n.config import LossConfig
from generator.braing3n.models.tokenizer import TokenizerOutput

__all__ = [
    "RandomFeaturePerceptualLoss",
    "TokenizerLoss",
    "latent_smoothness",
    "segmentation_aware_l1",
    "tumour_boundary",
]

TUMOUR_LABELS = (1, 2, 3)


class RandomFeaturePerceptualLoss(nn.Module):
    """Mean squared distance of unit-normalised features of a fixed random 3D conv net.

    Args:
        channels: widths of the stages (each halves the resolution).
        seed: initialisation seed (the network is a pure function of it).
    """

    def __init__(self, channels: tuple[int, ...] = (8, 16, 32), seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.stages = nn.ModuleList()
        prev = 1
        for width in channels:
            conv = nn.Conv3d(prev, width, kernel_size=3, stride=2, padding=1)
            fan_in = prev * 27
            with torch.no_grad():
                conv.weight.copy_(
                    torch.randn(conv.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
                )
                conv.bias.zero_()
            self.stages.append(conv)
            prev = width
        self.requires_grad_(False)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        h = x
        for conv in self.stages:
            h = F.leaky_relu(conv(h), 0.2)
            out.append(h / (h.norm(dim=1, keepdim=True) + 1e-6))
        return out

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        fp, ft = self.features(prediction.float()), self.features(target.float())
        return sum(((a - b) ** 2).sum(dim=1).mean() for a, b in zip(fp, ft, strict=True)) / len(fp)


def tumour_boundary(labels: torch.Tensor) -> torch.Tensor:
    """Voxels on any tumour-class boundary (morphological gradient), ``[B, 1, ...]`` float."""
    onehot = torch.stack([(labels == k) for k in TUMOUR_LABELS], dim=1).float()
    dilated = F.max_pool3d(onehot, kernel_size=3, stride=1, padding=1)
    eroded = -F.max_pool3d(-onehot, kernel_size=3, stride=1, padding=1)
    return (dilated - eroded).amax(dim=1, keepdim=True)


def segmentation_aware_l1(
    prediction: torch.Tensor,
    target: torch.Tensor,
    labels: torch.Tensor,
    *,
    boundary_weight: float,
    tumour_weight: float,
) -> torch.Tensor:
    """L1 weighted towards tumour boundaries and tumour voxels (weights normalised to mean 1)."""
    weight = 1.0 + boundary_weight * tumour_boundary(labels)
    weight = weight + tumour_weight * (labels > 0).unsqueeze(1).float()
    return (weight * (prediction.float() - target.float()).abs()).sum() / weight.sum()


def latent_smoothness(latent: torch.Tensor) -> torch.Tensor:
    """Mean squared finite difference of a latent along each axis (total-variation-like)."""
    terms = [latent.diff(dim=d).pow(2).mean() for d in (2, 3, 4)]
    return sum(terms) / 3


class TokenizerLoss(nn.Module):
    """Weighted sum of the tokenizer terms; returns ``(total, {term: value})``."""

    def __init__(self, config: LossConfig) -> None:
        super().__init__()
        self.config = config
        self.perceptual = RandomFeaturePerceptualLoss(
            config.perceptual_channels, config.perceptual_seed
        )

    def forward(
        self,
        output: TokenizerOutput,
        target: torch.Tensor,
        labels: torch.Tensor,
        *,
        smoothness: bool = True,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.config
        recon = output.reconstruction.float()
        terms = {
            "l1": F.l1_loss(recon, target.float()),
            "perceptual": self.perceptual(recon, target),
            "boundary": segmentation_aware_l1(
                recon,
                target,
                labels,
                boundary_weight=c.boundary_weight,
                tumour_weight=c.tumour_weight,
            ),
            "vq": output.vq_loss.float(),
            "latent_smoothness": latent_smoothness(output.generative_pre.float()),
        }
        weights = {name: getattr(c, name) for name in terms}
        if not smoothness:
            weights["latent_smoothness"] = 0.0
        total = sum(weights[name] * value for name, value in terms.items())
        return total, {name: float(value.detach()) for name, value in terms.items()}
