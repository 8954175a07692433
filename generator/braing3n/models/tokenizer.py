"""The BrainG3N dual-path VQ tokenizer (and its single-path ablation).

Clinical path: encoder features -> 1x1 projection -> EMA vector quantiser with the large,
high-resolution codebook (paper 16,384 x 256). Generative path: strided convolutions from the
same features -> EMA quantiser with the small, low-resolution codebook (paper 4,096 x 128);
its tokens are what the latent diffusion model generates. The decoder rebuilds the image from
the generative tokens while querying the clinical tokens through cross-attention.

With probability ``context_dropout`` a training sample's clinical tokens are replaced by one
learned "no clinical context" token, so the decoder can also draft an image from generative
tokens alone; ``pipelines.py`` uses that draft, re-encodes it on the clinical codebook and then
decodes again with the clinical tokens (our reading of how the seed's decoder queries clinical
features during generation, when no real image exists).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from monai.networks.blocks import Convolution
from monai.networks.layers.vector_quantizer import VectorQuantizer
from torch import nn
from torch.nn import functional as F

from generator.braing3n.config import TokenizerConfig
from generator.braing3n.models.blocks import SPATIAL_DIMS, downsample
from generator.braing3n.models.clinical_encoder import ClinicalEncoder
from generator.braing3n.models.generative_decoder import GenerativeDecoder
from generator.braing3n.models.quantizer import RestartingEMAQuantizer

__all__ = ["DualPathTokenizer", "TokenizerOutput"]


@dataclass
class TokenizerOutput:
    """Everything a forward pass produces (losses read the pre-quantisation latents)."""

    reconstruction: torch.Tensor
    generative: torch.Tensor
    generative_pre: torch.Tensor
    clinical: torch.Tensor | None
    vq_loss: torch.Tensor


def _quantizer(config: TokenizerConfig, size: int, dim: int) -> VectorQuantizer:
    return VectorQuantizer(
        RestartingEMAQuantizer(
            SPATIAL_DIMS,
            num_embeddings=size,
            embedding_dim=dim,
            commitment_cost=config.commitment_cost,
            decay=config.ema_decay,
            embedding_init="kaiming_uniform",
            ddp_sync=torch.distributed.is_available() and torch.distributed.is_initialized(),
        )
    )


class DualPathTokenizer(nn.Module):
    """Encode ``[B, 1, *volume_shape]`` to clinical + generative tokens and decode back.

    Args:
        config: tokenizer config; ``dual_path=False`` builds the single-path ablation (no
            clinical codebook, no cross-attention; the same generative path and decoder).
    """

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        self.config = config
        self.clinical_encoder = ClinicalEncoder(config)
        width = config.encoder_channels[-1]
        if config.dual_path:
            self.clinical_proj = Convolution(
                SPATIAL_DIMS, width, config.clinical_embedding_dim, kernel_size=1, conv_only=True
            )
            self.clinical_quantizer = _quantizer(
                config, config.clinical_codebook_size, config.clinical_embedding_dim
            )
            self.null_context = nn.Parameter(torch.zeros(1, 1, config.clinical_embedding_dim))
        head: list[nn.Module] = []
        for _ in range(config.generative_downsample_levels):
            head += [downsample(width, width), nn.SiLU()]
        head.append(
            Convolution(
                SPATIAL_DIMS,
                width,
                config.generative_embedding_dim,
                kernel_size=1,
                conv_only=True,
            )
        )
        self.generative_head = nn.Sequential(*head)
        self.generative_quantizer = _quantizer(
            config, config.generative_codebook_size, config.generative_embedding_dim
        )
        self.decoder = GenerativeDecoder(config)

    # ------------------------------------------------------------------ parameter groups
    def clinical_modules(self) -> list[nn.Module]:
        """The clinical path (trained in stage 1, frozen in stage 2)."""
        mods: list[nn.Module] = [self.clinical_encoder]
        if self.config.dual_path:
            mods += [self.clinical_proj, self.clinical_quantizer]
        return mods

    def decoder_modules(self) -> list[nn.Module]:
        """The generative path: head, small codebook, decoder with its cross-attention."""
        return [self.generative_head, self.generative_quantizer, self.decoder]

    # ------------------------------------------------------------------ encoding / decoding
    def _normalize(self, latent: torch.Tensor) -> torch.Tensor:
        # Unit-norm latents and codes (Yu et al. 2022, ViT-VQGAN, "l2-normalised codes"):
        # the encoder cannot inflate its outputs away from the codebook, which otherwise
        # collapses onto a few codes in our short CPU runs.
        return F.normalize(latent, dim=1) if self.config.normalize_latents else latent

    def encode_clinical(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantise encoder features on the clinical codebook: ``(vq_loss, tokens)``."""
        return self.clinical_quantizer(self._normalize(self.clinical_proj(features)))

    def encode_generative(self, features: torch.Tensor) -> torch.Tensor:
        """Continuous (pre-quantisation) generative latent of encoder features."""
        return self._normalize(self.generative_head(features))

    def quantize_generative(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Snap a continuous generative latent onto the small codebook: ``(vq_loss, tokens)``."""
        return self.generative_quantizer(latent)

    def context_tokens(
        self, clinical: torch.Tensor | None, batch: int
    ) -> tuple[torch.Tensor | None, tuple[int, int, int] | None]:
        """Clinical tokens as ``[B, N, C]`` (pooled by ``context_pool``) or the null token."""
        if not self.config.dual_path:
            return None, None
        if clinical is None:
            # N copies of the null token on the pooled clinical grid: the same keys a training
            # sample sees when its context is dropped (``forward``).
            shape = tuple(s // self.config.context_pool for s in self.config.clinical_shape)
            n = shape[0] * shape[1] * shape[2]
            return self.null_context.expand(batch, n, -1), shape  # type: ignore[return-value]
        if self.config.context_pool > 1:
            clinical = nn.functional.avg_pool3d(clinical, self.config.context_pool)
        shape = tuple(clinical.shape[2:])
        return clinical.flatten(2).transpose(1, 2), shape  # type: ignore[return-value]

    def decode(
        self,
        generative: torch.Tensor,
        clinical: torch.Tensor | None,
        fractions: torch.Tensor | None = None,
        sequence: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Image from generative tokens; ``clinical=None`` drafts without clinical context;
        ``fractions`` (label fractions on the volume grid) and ``sequence`` (indices ``[B]``)
        for a label- and sequence-conditioned decoder."""
        context, shape = self.context_tokens(clinical, generative.shape[0])
        return self.decoder(generative, context, shape, fractions, sequence)

    def forward(
        self,
        x: torch.Tensor,
        *,
        fractions: torch.Tensor | None = None,
        sequence: torch.Tensor | None = None,
        drop_context: torch.Tensor | None = None,
    ) -> TokenizerOutput:
        """Reconstruct ``x``; ``fractions`` ``[B, 4, *volume]`` and ``sequence`` ``[B]`` feed a
        conditioned decoder; ``drop_context`` (bool ``[B]``) swaps in the null clinical token."""
        features = self.clinical_encoder(x)
        generative_pre = self.encode_generative(features)
        vq_generative, generative = self.quantize_generative(generative_pre)
        vq_loss = vq_generative
        clinical = None
        if self.config.dual_path:
            vq_clinical, clinical = self.encode_clinical(features)
            vq_loss = vq_loss + vq_clinical
        context, shape = self.context_tokens(clinical, x.shape[0])
        if context is not None and clinical is not None and drop_context is not None:
            if bool(drop_context.any()):
                null = self.null_context.to(context.dtype)
                context = torch.where(drop_context[:, None, None], null, context)
        reconstruction = self.decoder(generative, context, shape, fractions, sequence)
        return TokenizerOutput(reconstruction, generative, generative_pre, clinical, vq_loss)
