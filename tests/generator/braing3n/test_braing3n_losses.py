"""Loss terms: boundary map, segmentation-aware weighting, perceptual term, and that they fall."""

from __future__ import annotations

import torch

from generator.braing3n.config import load_config
from generator.braing3n.losses import (
    RandomFeaturePerceptualLoss,
    TokenizerLoss,
    segmentation_aware_l1,
    tumour_boundary,
)
from generator.braing3n.models import BrainG3N
from generator.braing3n.training import apply_stage, train_step


def _cube_labels() -> torch.Tensor:
    labels = torch.zeros(1, 16, 16, 16, dtype=torch.long)
    labels[0, 4:12, 4:12, 4:12] = 2
    labels[0, 6:10, 6:10, 6:10] = 3
    return labels


def test_boundary_is_the_morphological_gradient_of_each_class() -> None:
    boundary = tumour_boundary(_cube_labels())[0, 0]
    assert boundary[0, 0, 0] == 0  # far background
    assert boundary[8, 8, 8] == 0  # deep inside the enhancing core
    assert boundary[4, 8, 8] == 1 and boundary[3, 8, 8] == 1  # oedema outer edge, both sides
    assert boundary[6, 8, 8] == 1 and boundary[5, 8, 8] == 1  # enhancing/oedema interface


def test_errors_on_the_boundary_cost_more_than_in_background() -> None:
    labels = _cube_labels()
    target = torch.zeros(1, 1, 16, 16, 16)
    on_boundary, in_background = target.clone(), target.clone()
    on_boundary[0, 0, 4, 8, 8] = 1.0
    in_background[0, 0, 0, 0, 0] = 1.0
    kwargs = {"boundary_weight": 4.0, "tumour_weight": 1.0}
    assert segmentation_aware_l1(on_boundary, target, labels, **kwargs) > segmentation_aware_l1(
        in_background, target, labels, **kwargs
    )


def test_perceptual_network_is_fixed_by_its_seed_and_needs_no_weights() -> None:
    a, b = RandomFeaturePerceptualLoss((4, 8), seed=3), RandomFeaturePerceptualLoss((4, 8), seed=3)
    x, y = torch.rand(1, 1, 16, 16, 16), torch.rand(1, 1, 16, 16, 16)
    assert float(a(x, x)) == 0.0
    assert float(a(x, y)) > 0.0
    assert float(a(x, y)) == float(b(x, y))
    assert not any(p.requires_grad for p in a.parameters())


def test_tokenizer_loss_falls_over_a_few_steps() -> None:
    torch.manual_seed(0)
    config = load_config("tiny")
    model = BrainG3N(config)
    loss_fn = TokenizerLoss(config.losses)
    image = torch.zeros(2, 1, 32, 32, 32)
    image[:, :, 6:26, 6:26, 6:26] = 0.6
    image[:, :, 12:18, 12:18, 12:18] = 1.0
    labels = torch.zeros(2, 32, 32, 32, dtype=torch.long)
    labels[:, 12:18, 12:18, 12:18] = 3
    fractions = torch.zeros(2, 4, 32, 32, 32)
    fractions[:, 0, 6:26, 6:26, 6:26] = 1.0
    fractions[:, 3, 12:18, 12:18, 12:18] = 1.0
    batch = {
        "image": image,
        "labels": labels,
        "fractions": fractions,
        "sequence": torch.tensor([1, 3]),
    }
    params = apply_stage(model, "joint")
    optimizer = torch.optim.AdamW(params, lr=2e-3)
    losses = [
        train_step(model, "joint", batch, optimizer, params, loss_fn=loss_fn)["loss"]
        for _ in range(8)
    ]
    assert losses[-1] < 0.7 * losses[0]
