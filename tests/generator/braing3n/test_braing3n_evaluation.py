"""Evaluation maths: the Fréchet distance and the whole-tumour Dice."""

from __future__ import annotations

import numpy as np
import torch

from generator.braing3n.evaluation import frechet_distance


def test_frechet_distance_is_zero_for_one_set_and_grows_with_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 4))
    assert frechet_distance(a, a) < 1e-4
    near, far = frechet_distance(a, a + 0.5), frechet_distance(a, a + 2.0)
    assert abs(near - 4 * 0.25) < 1e-3 and abs(far - 4 * 4.0) < 1e-3


def test_whole_tumour_dice_counts_overlap() -> None:
    from generator.braing3n.evaluation import whole_tumour_dice

    class Oracle(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:  # logits: tumour where channel 0 > 0.5
            tumour = (x[:, :1] > 0.5).float()
            return torch.cat([1 - tumour, tumour, 0 * tumour, 0 * tumour], dim=1)

    images = torch.zeros(1, 4, 8, 8, 8)
    images[0, 0, 2:6, 2:6, 2:4] = 1.0
    labels = torch.zeros(1, 8, 8, 8, dtype=torch.long)
    labels[0, 2:6, 2:6, 2:6] = 2
    assert abs(whole_tumour_dice(Oracle(), images, labels) - 2 * 32 / (32 + 64)) < 1e-9
