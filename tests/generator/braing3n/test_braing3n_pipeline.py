"""DDIM sampling: shapes, determinism per seed, and MONAI schedulers on the seed's schedule."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from generator.braing3n.checkpoint import load_checkpoint
from generator.braing3n.config import load_config
from generator.braing3n.pipelines import BrainG3NPipeline
from generator.braing3n.schedulers import (
    DDIMScheduler,
    DDPMScheduler,
    sampling_scheduler,
    training_scheduler,
)


def test_schedulers_are_monai_with_1000_training_steps() -> None:
    config = load_config("tiny").diffusion
    ddpm, ddim = training_scheduler(config), sampling_scheduler(config, 10)
    assert isinstance(ddpm, DDPMScheduler) and isinstance(ddim, DDIMScheduler)
    assert ddpm.num_train_timesteps == 1000
    assert len(ddim.timesteps) == 10
    assert torch.allclose(ddpm.alphas_cumprod, ddim.alphas_cumprod)


@pytest.fixture(scope="module")
def pipeline(trained_checkpoint: Path) -> BrainG3NPipeline:
    return BrainG3NPipeline(load_checkpoint(trained_checkpoint).model, num_inference_steps=4)


def _inputs(batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    fractions = torch.zeros(batch, 4, 32, 32, 32)
    fractions[:, 0, 4:28, 4:28, 4:28] = 1.0
    fractions[:, 3, 12:16, 12:16, 12:16] = 1.0
    return fractions, torch.arange(batch) % 4, torch.zeros(batch, 3)


def test_sampling_shape_and_brain_mask(pipeline: BrainG3NPipeline) -> None:
    fractions, sequence, covariates = _inputs(2)
    images = pipeline(fractions, sequence, covariates, seeds=[1, 2])
    assert images.shape == (2, 1, 32, 32, 32)
    assert float(images[:, :, :4].abs().max()) == 0.0  # outside the brain
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0


def test_same_seed_same_volume_other_seed_other_volume(pipeline: BrainG3NPipeline) -> None:
    fractions, sequence, covariates = _inputs(1)
    a = pipeline(fractions, sequence, covariates, seeds=[7])
    b = pipeline(fractions, sequence, covariates, seeds=[7])
    c = pipeline(fractions, sequence, covariates, seeds=[8])
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
