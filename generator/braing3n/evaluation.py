"""Evaluation of BrainG3N checkpoints on held-out BraTS-layout cases.

Metrics (and what they are, honestly):

* Recon PSNR / SSIM: tokenizer reconstruction of held-out volumes (MONAI ``PSNRMetric``,
  ``SSIMMetric``, data range 1 in the normalised intensity scale).
* Boundary L1: mean absolute reconstruction error on tumour-boundary voxels (the seed's
  "reconstruction error on tumour boundary pixels").
* Dice (tumour): whole-tumour Dice (labels > 0) of a small MONAI ``BasicUNet`` trained *here*,
  on the training split of the same corpus, applied to volumes generated for the held-out label
  maps; the same network on the real held-out volumes gives the reference row.
* FD-3D: Fréchet distance between Gaussian fits of features of that segmentation network's
  encoder (global-average-pooled deepest two stages) on real vs generated volumes. It is NOT the
  Inception FID of the seed's table and its numbers are not comparable to it; with a few dozen
  samples the covariance estimate is crude (a small ridge keeps it finite).
* Diversity: mean pairwise random-feature perceptual distance (``losses.py``) between volumes
  generated for the same label map and sequence with different seeds (higher = more diverse).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from monai.losses import DiceCELoss
from monai.metrics import PSNRMetric, SSIMMetric
from monai.networks.nets import BasicUNet
from scipy import linalg
from torch.nn import functional as F

from generator.braing3n.checkpoint import LoadedCheckpoint, load_checkpoint
from generator.braing3n.data import BraTSDataset, find_cases, split_cases
from generator.braing3n.errors import CheckpointError
from generator.braing3n.losses import RandomFeaturePerceptualLoss, tumour_boundary
from generator.braing3n.pipelines import BrainG3NPipeline
from generator.engine import SEQUENCES

__all__ = ["EvaluationReport", "ModelMetrics", "evaluate", "format_table", "frechet_distance"]

#: Features of the evaluation segmentation network (MONAI BasicUNet: 5 encoder widths + up).
SEG_FEATURES = (8, 8, 16, 16, 32, 8)
#: Ridge added to feature covariances so the matrix square root exists with few samples.
COVARIANCE_RIDGE = 1e-6


@dataclass
class ModelMetrics:
    """One row of the table."""

    name: str
    fd3d: float
    dice: float
    psnr_db: float
    ssim: float
    boundary_l1: float
    diversity: float


@dataclass
class EvaluationReport:
    """All rows plus the reference (real held-out data) and what was evaluated."""

    data_dir: str
    n_train_cases: int
    n_val_cases: int
    seeds_per_case: int
    inference_steps: int
    real_dice: float
    real_fd3d: float
    models: list[ModelMetrics] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


# --------------------------------------------------------------------------- helpers


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature rows of ``a`` and ``b``."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    eye = np.eye(a.shape[1]) * COVARIANCE_RIDGE
    cov_a = np.cov(a, rowvar=False) + eye
    cov_b = np.cov(b, rowvar=False) + eye
    root = linalg.sqrtm(cov_a @ cov_b)
    root = np.real(root)
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))
    return max(value, 0.0)


def _stack_cases(
    dataset: BraTSDataset,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    cases = [dataset.case(i) for i in range(len(dataset.cases))]
    return (
        torch.stack([c.images for c in cases]),
        torch.stack([c.labels for c in cases]),
        torch.stack([c.fractions for c in cases]),
        torch.stack([c.covariates for c in cases]),
    )


def train_segmenter(
    images: torch.Tensor, labels: torch.Tensor, *, steps: int, seed: int, batch_size: int = 2
) -> BasicUNet:
    """A small 4-sequence BasicUNet trained on the training split (seeded)."""
    torch.manual_seed(seed)
    net = BasicUNet(
        spatial_dims=3, in_channels=len(SEQUENCES), out_channels=4, features=SEG_FEATURES
    )
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(steps):
        idx = torch.randint(0, images.shape[0], (batch_size,), generator=generator)
        x, y = images[idx], labels[idx][:, None]
        flips = [d for d in (2, 3, 4) if bool(torch.rand((), generator=generator) < 0.5)]
        if flips:
            x, y = x.flip(flips), y.flip(flips)
        loss = loss_fn(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return net.eval()


@torch.no_grad()
def segmenter_features(net: BasicUNet, images: torch.Tensor) -> np.ndarray:
    """Global-average-pooled features of the two deepest encoder stages: ``[N, F]``."""
    x0 = net.conv_0(images)
    x1 = net.down_1(x0)
    x2 = net.down_2(x1)
    x3 = net.down_3(x2)
    x4 = net.down_4(x3)
    pooled = [F.adaptive_avg_pool3d(x, 1).flatten(1) for x in (x3, x4)]
    return torch.cat(pooled, dim=1).double().numpy()


@torch.no_grad()
def whole_tumour_dice(net: BasicUNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean whole-tumour Dice over cases (a case with no tumour either side counts as 1)."""
    predicted = net(images).argmax(dim=1) > 0
    truth = labels > 0
    scores = []
    for p, t in zip(predicted, truth, strict=True):
        denominator = int(p.sum() + t.sum())
        scores.append(1.0 if denominator == 0 else 2.0 * int((p & t).sum()) / denominator)
    return float(np.mean(scores))


@torch.no_grad()
def reconstruction_metrics(
    ckpt: LoadedCheckpoint, images: torch.Tensor, labels: torch.Tensor, fractions: torch.Tensor
) -> tuple[float, float, float]:
    """(PSNR dB, SSIM, boundary L1) of tokenizer reconstructions of every held-out sequence."""
    psnr, ssim = PSNRMetric(max_val=1.0), SSIMMetric(spatial_dims=3, data_range=1.0, win_size=7)
    errors = []
    tokenizer = ckpt.model.tokenizer.eval()
    for case_images, case_labels, case_fractions in zip(images, labels, fractions, strict=True):
        target = case_images[:, None]
        case_fractions = case_fractions[None].expand(len(SEQUENCES), -1, -1, -1, -1)
        recon = tokenizer(
            target, fractions=case_fractions, sequence=torch.arange(len(SEQUENCES))
        ).reconstruction.clamp(0, 1)
        psnr(recon, target)
        ssim(recon, target)
        boundary = tumour_boundary(case_labels[None].expand(len(SEQUENCES), -1, -1, -1)) > 0
        if boundary.any():
            errors.append(float((recon - target).abs()[boundary].mean()))
    boundary_l1 = float(np.mean(errors)) if errors else float("nan")
    return float(psnr.aggregate()), float(ssim.aggregate()), boundary_l1


@torch.no_grad()
def generate_visits(
    ckpt: LoadedCheckpoint,
    fractions: torch.Tensor,
    covariates: torch.Tensor,
    seeds: list[int],
    steps: int | None,
    chunk: int = 16,
) -> torch.Tensor:
    """``[seeds, cases, 4, *shape]`` generated volumes for every case, sequence and seed."""
    pipeline = BrainG3NPipeline(ckpt.model, steps)
    n_cases = fractions.shape[0]
    jobs = list(itertools.product(range(len(seeds)), range(n_cases), range(len(SEQUENCES))))
    out = torch.zeros(len(seeds), n_cases, len(SEQUENCES), *fractions.shape[2:])
    for start in range(0, len(jobs), chunk):
        part = jobs[start : start + chunk]
        images = pipeline(
            torch.stack([fractions[c] for _, c, _ in part]),
            torch.tensor([q for _, _, q in part]),
            torch.stack([covariates[c] for _, c, _ in part]),
            [seeds[s] * 1000 + c * 10 + q for s, c, q in part],
        )
        for (s, c, q), image in zip(part, images, strict=True):
            out[s, c, q] = image[0]
    return out


# --------------------------------------------------------------------------- evaluate


def evaluate(
    checkpoints: list[str | Path],
    data_dir: str | Path,
    *,
    seed: int = 0,
    seeds_per_case: int = 3,
    segmenter_steps: int = 200,
    inference_steps: int | None = None,
) -> EvaluationReport:
    """Evaluate one or more checkpoints (e.g. dual-path and single-path) on the same split."""
    if not checkpoints:
        raise CheckpointError("checkpoint: at least one --checkpoint is required")
    loaded = [load_checkpoint(p) for p in checkpoints]
    shape = loaded[0].config.tokenizer.volume_shape
    for ckpt in loaded[1:]:
        if ckpt.config.tokenizer.volume_shape != shape:
            raise CheckpointError(
                f"{ckpt.path}: volume_shape {ckpt.config.tokenizer.volume_shape} differs from "
                f"{loaded[0].path} {shape}; compare models trained on the same grid"
            )
    for ckpt in loaded:
        if "diffusion" not in ckpt.manifest.get("completed_stages", []):
            raise CheckpointError(f"{ckpt.path}: training has not finished the diffusion stage")
    train_cases, val_cases = split_cases(
        find_cases(data_dir), loaded[0].config.training.val_fraction
    )
    train_images, train_labels, _, _ = _stack_cases(BraTSDataset(train_cases, shape))
    val_images, val_labels, val_fractions, val_covariates = _stack_cases(
        BraTSDataset(val_cases, shape)
    )
    segmenter = train_segmenter(train_images, train_labels, steps=segmenter_steps, seed=seed)
    real_features = segmenter_features(segmenter, torch.cat([train_images, val_images]))
    real_val_features = segmenter_features(segmenter, val_images)
    steps = inference_steps or loaded[0].config.diffusion.num_inference_steps
    report = EvaluationReport(
        data_dir=str(data_dir),
        n_train_cases=len(train_cases),
        n_val_cases=len(val_cases),
        seeds_per_case=seeds_per_case,
        inference_steps=steps,
        real_dice=whole_tumour_dice(segmenter, val_images, val_labels),
        real_fd3d=frechet_distance(real_features, real_val_features),
    )
    perceptual = RandomFeaturePerceptualLoss(
        loaded[0].config.losses.perceptual_channels, loaded[0].config.losses.perceptual_seed
    )
    seeds = [seed * 100 + k for k in range(seeds_per_case)]
    for ckpt in loaded:
        psnr, ssim, boundary_l1 = reconstruction_metrics(
            ckpt, val_images, val_labels, val_fractions
        )
        generated = generate_visits(ckpt, val_fractions, val_covariates, seeds, steps)
        dice = float(np.mean([whole_tumour_dice(segmenter, g, val_labels) for g in generated]))
        fake_features = segmenter_features(segmenter, generated.flatten(0, 1))
        distances = []
        for a, b in itertools.combinations(range(len(seeds)), 2):
            for c in range(generated.shape[1]):
                distances.append(
                    float(perceptual(generated[a, c][:, None], generated[b, c][:, None]))
                )
        kind = "dual-path" if ckpt.config.tokenizer.dual_path else "single-path"
        report.models.append(
            ModelMetrics(
                name=f"BrainG3N {ckpt.config.name} ({kind})",
                fd3d=frechet_distance(real_features, fake_features),
                dice=dice,
                psnr_db=psnr,
                ssim=ssim,
                boundary_l1=boundary_l1,
                diversity=float(np.mean(distances)) if distances else math.nan,
            )
        )
    return report


def format_table(report: EvaluationReport) -> str:
    """Markdown table in the layout of the seed's benchmark table."""
    lines = [
        f"Held-out cases: {report.n_val_cases} (trained on {report.n_train_cases}); "
        f"{report.seeds_per_case} seeds per case; DDIM {report.inference_steps} steps.",
        "FD-3D = Fréchet distance on features of our tumour-segmentation encoder (trained here), "
        "not Inception FID.",
        "",
        "| Model | FD-3D ↓ | Dice (tumour) ↑ | Recon PSNR (dB) ↑ | Recon SSIM ↑ "
        "| Boundary L1 ↓ | Diversity ↑ |",
        "|---|---|---|---|---|---|---|",
        f"| Real held-out data (reference) | {report.real_fd3d:.3f} | {report.real_dice:.3f} "
        "| – | – | – | – |",
    ]
    for m in report.models:
        lines.append(
            f"| {m.name} | {m.fd3d:.3f} | {m.dice:.3f} | {m.psnr_db:.2f} | {m.ssim:.3f} "
            f"| {m.boundary_l1:.4f} | {m.diversity:.4f} |"
        )
    return "\n".join(lines)
