"""Noise schedulers: MONAI's DDPM (training) and DDIM (sampling) on one shared schedule."""

from __future__ import annotations

from monai.networks.schedulers import DDIMScheduler, DDPMScheduler

from generator.braing3n.config import DiffusionConfig

__all__ = ["DDIMScheduler", "DDPMScheduler", "sampling_scheduler", "training_scheduler"]


def _schedule_args(config: DiffusionConfig) -> dict[str, object]:
    return {
        "num_train_timesteps": config.num_train_timesteps,
        "schedule": config.schedule,
        "beta_start": config.beta_start,
        "beta_end": config.beta_end,
        "clip_sample": False,
        "prediction_type": "epsilon",
    }


def training_scheduler(config: DiffusionConfig) -> DDPMScheduler:
    """DDPM forward process (``add_noise``) with ``num_train_timesteps`` (1,000 in the seed)."""
    return DDPMScheduler(**_schedule_args(config))  # type: ignore[arg-type]


def sampling_scheduler(
    config: DiffusionConfig, num_inference_steps: int | None = None
) -> DDIMScheduler:
    """DDIM sampler (Song et al. 2021) on the same betas, set to ``num_inference_steps``."""
    scheduler = DDIMScheduler(**_schedule_args(config))  # type: ignore[arg-type]
    scheduler.set_timesteps(num_inference_steps or config.num_inference_steps)
    return scheduler
