"""Staged training of BrainG3N (the seed's schedule), then the latent diffusion model.

    stage 1  clinical   clinical encoder + clinical codebook train; generative path frozen
    stage 2  decoder    generative head, small codebook, decoder train; clinical path frozen
    stage 3  joint      everything in the tokenizer, learning rate x joint_lr_scale
    stage 4  diffusion  tokenizer frozen; latent denoiser learns to predict DDPM noise

Frozen modules get ``requires_grad=False`` *and* eval mode, so their EMA codebooks do not move
either. Batches, context dropout, timesteps and noise of step ``s`` of stage ``k`` are drawn
from generators seeded by ``(seed, k, s)``: a resumed run continues exactly where it stopped.
Mixed precision (bf16 autocast) on CUDA; one process per GPU under ``torchrun`` (DDP).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from generator.braing3n.checkpoint import (
    MANIFEST_FILE,
    load_checkpoint,
    load_training_state,
    save_checkpoint,
)
from generator.braing3n.config import BrainG3NConfig
from generator.braing3n.data import BraTSDataset, find_cases, split_cases
from generator.braing3n.errors import CheckpointError
from generator.braing3n.losses import TokenizerLoss
from generator.braing3n.models import BrainG3N
from generator.braing3n.pipelines import latent_conditions
from generator.braing3n.schedulers import training_scheduler

__all__ = ["STAGES", "TrainResult", "apply_stage", "stage_parameters", "train", "train_step"]

STAGES: tuple[str, ...] = ("clinical", "decoder", "joint", "diffusion")
METRICS_FILE = "metrics.jsonl"


# --------------------------------------------------------------------------- stage freezing


def _stage_modules(model: BrainG3N, stage: str) -> tuple[list[nn.Module], list[nn.Module]]:
    tok = model.tokenizer
    clinical, decoder = tok.clinical_modules(), tok.decoder_modules()
    if stage == "clinical":
        return clinical, [*decoder, model.denoiser]
    if stage == "decoder":
        return decoder, [*clinical, model.denoiser]
    if stage == "joint":
        return [tok], [model.denoiser]
    if stage == "diffusion":
        return [model.denoiser], [tok]
    raise ValueError(f"stage: unknown stage {stage!r} (choices: {', '.join(STAGES)})")


def apply_stage(model: BrainG3N, stage: str) -> list[nn.Parameter]:
    """Freeze/unfreeze for ``stage``; return the trainable parameters.

    Everything starts frozen and in eval mode; the stage's modules are switched to train mode
    and get gradients (the learned "no clinical context" token belongs to the generative path).
    """
    trainable, _ = _stage_modules(model, stage)
    model.requires_grad_(False)
    model.eval()
    params: list[nn.Parameter] = []
    for module in trainable:
        module.train()
        for name, p in module.named_parameters():
            # MONAI's EMA codebooks are updated by EMA, never by gradients.
            if name.endswith("quantizer.embedding.weight"):
                continue
            p.requires_grad_(True)
            params.append(p)
    tokenizer = model.tokenizer
    if stage == "decoder" and tokenizer.config.dual_path:
        tokenizer.null_context.requires_grad_(True)
        params.append(tokenizer.null_context)
    return params


def stage_parameters(model: BrainG3N, stage: str) -> list[str]:
    """Names of the parameters trained in ``stage`` (for tests and logs)."""
    apply_stage(model, stage)
    return [name for name, p in model.named_parameters() if p.requires_grad]


# --------------------------------------------------------------------------- batches


class StepBatchSampler(Sampler[list[int]]):
    """Batches for steps ``start..total-1``; step ``s`` draws from ``(seed, stage, s)``."""

    def __init__(
        self,
        n_items: int,
        batch_size: int,
        seed: int,
        stage_index: int,
        start: int,
        total: int,
        rank: int = 0,
    ) -> None:
        self.n_items, self.batch_size = n_items, batch_size
        self.seed, self.stage_index, self.start, self.total, self.rank = (
            seed,
            stage_index,
            start,
            total,
            rank,
        )

    def __len__(self) -> int:
        return max(self.total - self.start, 0)

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.total):
            g = _step_generator(self.seed, self.stage_index, step, self.rank)
            yield torch.randint(0, self.n_items, (self.batch_size,), generator=g).tolist()


def _step_generator(seed: int, stage_index: int, step: int, rank: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(
        ((seed * 1_000_003 + stage_index) * 10_000_019 + step) * 101 + rank
    )


def _collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if isinstance(values[0], torch.Tensor):
            out[key] = torch.stack(values)
        elif isinstance(values[0], int):
            out[key] = torch.tensor(values, dtype=torch.long)
        else:
            out[key] = values
    return out


# --------------------------------------------------------------------------- steps


def tokenizer_loss(
    model: BrainG3N,
    loss_fn: TokenizerLoss,
    batch: dict[str, Any],
    stage: str,
    generator: torch.Generator,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of one tokenizer batch (context dropout drawn from ``generator``)."""
    image, labels = batch["image"], batch["labels"]
    drop = None
    if model.config.tokenizer.dual_path and model.config.tokenizer.context_dropout > 0:
        drop = (
            torch.rand(image.shape[0], generator=generator) < model.config.tokenizer.context_dropout
        ).to(image.device)
    output = model.tokenizer(
        image, fractions=batch["fractions"], sequence=batch["sequence"], drop_context=drop
    )
    # Latent smoothness belongs to the generative path: the seed optimises it from stage 2 on.
    return loss_fn(output, image, labels, smoothness=stage != "clinical")


@torch.no_grad()
def encode_latents(model: BrainG3N, image: torch.Tensor) -> torch.Tensor:
    """Quantised generative latents of ``image`` (tokenizer in eval mode), unscaled."""
    tok = model.tokenizer
    _, tokens = tok.quantize_generative(tok.encode_generative(tok.clinical_encoder(image)))
    return tokens.float()


def diffusion_loss(
    model: BrainG3N, scheduler: Any, batch: dict[str, Any], generator: torch.Generator
) -> tuple[torch.Tensor, dict[str, float]]:
    """Epsilon-prediction MSE of one batch at uniformly drawn DDPM timesteps."""
    latents = encode_latents(model, batch["image"]) * model.latent_scale
    device = latents.device
    noise = torch.randn(latents.shape, generator=generator).to(device)
    timesteps = torch.randint(
        0, scheduler.num_train_timesteps, (latents.shape[0],), generator=generator
    ).to(device)
    noisy = scheduler.add_noise(latents, noise, timesteps)
    conditions = latent_conditions(batch["fractions"], model.config.tokenizer.latent_shape)
    prediction = model.denoiser(
        noisy, timesteps, conditions, batch["sequence"], batch["covariates"]
    )
    loss = F.mse_loss(prediction.float(), noise)
    return loss, {"mse": float(loss.detach())}


def train_step(
    model: BrainG3N,
    stage: str,
    batch: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    params: list[nn.Parameter],
    *,
    loss_fn: TokenizerLoss | None = None,
    scheduler: Any = None,
    generator: torch.Generator | None = None,
    grad_clip: float = 1.0,
    autocast: bool = False,
) -> dict[str, float]:
    """One optimiser step of ``stage``; returns the loss terms (``loss`` is the total)."""
    generator = generator or torch.Generator().manual_seed(0)
    device = next(model.parameters()).device
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        if stage == "diffusion":
            loss, terms = diffusion_loss(model, scheduler, batch, generator)
        else:
            assert loss_fn is not None
            loss, terms = tokenizer_loss(model, loss_fn, batch, stage, generator)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()
    return {"loss": float(loss.detach()), **terms}


# --------------------------------------------------------------------------- the run


@dataclass
class TrainResult:
    """Summary of a training run."""

    out_dir: Path
    completed_stages: list[str]
    final_losses: dict[str, float] = field(default_factory=dict)
    steps_run: int = 0
    wall_s: float = 0.0


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises NCCL when launched by torchrun on several GPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl")
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


def _device(rank: int) -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    return torch.device("cpu")


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }


def _truncate_metrics(path: Path, done: tuple[str, ...], stage: str, step: int) -> None:
    """Drop log lines written after the checkpoint a run resumes from (no duplicates)."""
    kept = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if row.get("stage") in done or (row.get("stage") == stage and row.get("step", 0) <= step):
            kept.append(line)
    path.write_text("".join(f"{line}\n" for line in kept))


@torch.no_grad()
def measure_latent_scale(
    model: BrainG3N,
    dataset: BraTSDataset,
    batches: int,
    batch_size: int,
    device: torch.device,
    seed: int,
) -> float:
    """1 / std of the generative latents over a few training batches (Rombach et al. 2022)."""
    sampler = StepBatchSampler(len(dataset), batch_size, seed, len(STAGES), 0, batches)
    values = []
    for indices in sampler:
        batch = _to_device(_collate([dataset[i] for i in indices]), device)
        values.append(encode_latents(model, batch["image"]).flatten())
    std = float(torch.cat(values).std())
    return 1.0 / std if std > 0 else 1.0


def train(
    data_dir: str | Path,
    config: BrainG3NConfig | None,
    out_dir: str | Path,
    *,
    resume: bool = False,
    steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    stages: tuple[str, ...] = STAGES,
) -> TrainResult:
    """Train (or resume) a BrainG3N model on a BraTS-layout directory into ``out_dir``.

    ``steps`` overrides the number of steps of every stage (quick runs, tests). ``config=None``
    with ``resume=True`` continues with the checkpoint's own config.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    rank, world = _distributed()
    device = _device(rank)
    has_checkpoint = (out_dir / MANIFEST_FILE).is_file()
    state: dict[str, Any] | None = None
    if has_checkpoint and not resume:
        raise CheckpointError(
            f"{out_dir}: already holds a checkpoint; pass --resume to continue it or choose "
            "another --out"
        )
    if resume and has_checkpoint:
        loaded = load_checkpoint(out_dir, expected_config=config)
        model, config = loaded.model, loaded.config
        state = load_training_state(out_dir)
    else:
        if config is None:
            raise CheckpointError(f"{out_dir}: nothing to resume and no --config given")
        torch.manual_seed(seed)
        model = BrainG3N(config)
    model.to(device)
    train_cases, _ = split_cases(find_cases(data_dir), config.training.val_fraction)
    dataset = BraTSDataset(
        train_cases, config.tokenizer.volume_shape, cache=config.training.cache_dataset
    )
    loss_fn = TokenizerLoss(config.losses).to(device)
    ddpm = training_scheduler(config.diffusion)
    autocast = device.type == "cuda" and config.training.amp_bf16
    tc = config.training
    stage_index = int(state["stage_index"]) if state else 0
    start_step = int(state["step"]) if state else 0
    completed = list(load_checkpoint(out_dir).manifest["completed_stages"]) if state else []
    metrics_path = out_dir / METRICS_FILE
    result = TrainResult(out_dir, completed)
    out_dir.mkdir(parents=True, exist_ok=True)
    if state and metrics_path.is_file():
        _truncate_metrics(metrics_path, STAGES[:stage_index], STAGES[stage_index], start_step)

    for index in range(stage_index, len(STAGES)):
        stage = STAGES[index]
        if stage not in stages:
            continue
        total = steps if steps is not None else tc.steps_for(stage)
        first = start_step if index == stage_index else 0
        params = apply_stage(model, stage)
        lr = {
            "joint": tc.learning_rate * tc.joint_lr_scale,
            "diffusion": tc.diffusion_learning_rate,
        }.get(stage, tc.learning_rate)
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
        if state and index == stage_index and state.get("optimizer"):
            optimizer.load_state_dict(state["optimizer"])
        if stage == "diffusion" and first == 0:
            scale = measure_latent_scale(
                model, dataset, tc.latent_scale_batches, tc.batch_size, device, seed
            )
            model.latent_scale.fill_(scale)
        loader = DataLoader(
            dataset,
            batch_sampler=StepBatchSampler(
                len(dataset), tc.batch_size, seed, index, first, total, rank
            ),
            collate_fn=_collate,
            num_workers=tc.num_workers,
        )
        bar = tqdm(
            total=total,
            initial=first,
            desc=f"braing3n {stage}",
            unit="step",
            disable=not progress or rank != 0,
            file=sys.stderr,
        )
        terms: dict[str, float] = {}
        with metrics_path.open("a") as log:
            for step, batch in enumerate(loader, start=first):
                terms = train_step(
                    model,
                    stage,
                    _to_device(batch, device),
                    optimizer,
                    params,
                    loss_fn=loss_fn,
                    scheduler=ddpm,
                    generator=_step_generator(seed, index, step, rank),
                    grad_clip=tc.grad_clip,
                    autocast=autocast,
                )
                result.steps_run += 1
                bar.update(1)
                bar.set_postfix(loss=f"{terms['loss']:.4f}")
                if rank == 0:
                    log.write(
                        json.dumps(
                            {
                                "stage": stage,
                                "step": step + 1,
                                "lr": lr,
                                **{k: round(v, 6) for k, v in terms.items()},
                            },
                            sort_keys=True,
                        )
                        + "\n"
                    )
                    log.flush()
                    if (step + 1) % tc.save_every == 0 and step + 1 < total:
                        save_checkpoint(
                            model,
                            out_dir,
                            completed_stages=completed,
                            training_state={
                                "stage_index": index,
                                "step": step + 1,
                                "optimizer": optimizer.state_dict(),
                            },
                        )
        bar.close()
        if not math.isfinite(terms.get("loss", 0.0)):
            raise RuntimeError(f"stage {stage}: loss became non-finite; lower the learning rate")
        completed.append(stage)
        result.final_losses[stage] = terms.get("loss", float("nan"))
        if rank == 0:
            save_checkpoint(
                model,
                out_dir,
                completed_stages=completed,
                training_state={"stage_index": index + 1, "step": 0, "optimizer": {}},
            )
    result.completed_stages = completed
    result.wall_s = time.perf_counter() - started
    return result
