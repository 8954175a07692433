"""The BrainG3N sampling pipeline: the visible DDIM loop from noise to image.

1. spatial conditions (brain, necrosis, oedema, enhancing fractions) pooled to the latent grid;
2. Gaussian noise from a per-sample seed (the engine derives it from subject + sequence, so a
   subject keeps its texture across visits);
3. DDIM steps with MONAI's ``DDIMScheduler`` (eta = 0: deterministic given the noise);
4. the latent is unscaled and snapped onto the generative codebook;
5. decode a draft without clinical context, tokenise the draft on the clinical codebook, decode
   again with the decoder querying those clinical tokens (dual path only); a label-conditioned
   decoder reads the label fractions and the sequence at every resolution in both passes;
6. mask to the brain.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from generator.braing3n.models import BrainG3N
from generator.braing3n.schedulers import sampling_scheduler

__all__ = ["BrainG3NPipeline", "latent_conditions"]


def latent_conditions(fractions: torch.Tensor, latent_shape: Sequence[int]) -> torch.Tensor:
    """Voxel fractions ``[B, 4, *volume]`` averaged onto the latent grid ``[B, 4, *latent]``."""
    return F.adaptive_avg_pool3d(fractions.float(), tuple(latent_shape))


class BrainG3NPipeline:
    """Generate volumes on the model grid from label fractions, sequences and covariates.

    Args:
        model: a trained ``BrainG3N`` (put in eval mode here).
        num_inference_steps: DDIM steps (default: the config's, 50 in the seed setting).
    """

    def __init__(self, model: BrainG3N, num_inference_steps: int | None = None) -> None:
        self.model = model.eval()
        self.config = model.config
        self.scheduler = sampling_scheduler(model.config.diffusion, num_inference_steps)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def initial_noise(self, seeds: Sequence[int]) -> torch.Tensor:
        """One noise tensor per seed, drawn on the CPU so it is the same on every device."""
        shape = (
            self.config.tokenizer.generative_embedding_dim,
            *self.config.tokenizer.latent_shape,
        )
        noise = [
            torch.randn(shape, generator=torch.Generator().manual_seed(int(seed) % 2**63))
            for seed in seeds
        ]
        return torch.stack(noise).to(self.device)

    @torch.no_grad()
    def __call__(
        self,
        fractions: torch.Tensor,
        sequence: torch.Tensor,
        covariates: torch.Tensor,
        seeds: Sequence[int],
        *,
        autocast_dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        """Images ``[B, 1, *volume_shape]`` in the normalised intensity scale (0..1)."""
        device = self.device
        tokenizer, denoiser = self.model.tokenizer, self.model.denoiser
        fractions = fractions.to(device)
        conditions = latent_conditions(fractions, self.config.tokenizer.latent_shape)
        sequence = sequence.to(device).long()
        covariates = covariates.to(device).float()
        latent = self.initial_noise(seeds)
        use_autocast = autocast_dtype is not None and device.type == "cuda"
        with torch.autocast(
            device.type, dtype=autocast_dtype or torch.bfloat16, enabled=use_autocast
        ):
            for timestep in self.scheduler.timesteps:
                t = torch.full((latent.shape[0],), int(timestep), device=device, dtype=torch.long)
                noise_pred = denoiser(latent, t, conditions, sequence, covariates)
                latent, _ = self.scheduler.step(noise_pred.float(), int(timestep), latent)
            _, tokens = tokenizer.quantize_generative(latent / self.model.latent_scale)
            brain = (fractions[:, :1] > 0.5).to(latent.dtype)
            image = tokenizer.decode(tokens, None, fractions, sequence)
            if self.config.tokenizer.dual_path:
                # Training images are 0 outside the brain: show the clinical encoder the same.
                features = tokenizer.clinical_encoder(image.float().clamp(0, 1) * brain)
                _, clinical = tokenizer.encode_clinical(features)
                image = tokenizer.decode(tokens, clinical, fractions, sequence)
        return image.float().clamp(0, 1) * brain
