"""GPU benchmark of BrainG3N at the ``paper`` configuration (UNMEASURED on this project's CPU
machines: run it on a CUDA machine and record the card with the figures).

Run: ``python tests/benchmarks/gpu_braing3n.py [--out DIR] [--train-steps 40]``.

Measures, with bf16 autocast and flash attention:

1. training step time of each stage (clinical, decoder, joint, diffusion) at the paper grid
   (160x192x160, batch 1) on random volumes;
2. inference at 1 mm: a 4-sequence visit on the 1 mm MNI152 grid (197x233x189) with DDIM-50
   through the engine's own path (crop box -> model grid -> resample back), as volumes/second
   and seconds per visit (issue target: <= 5 s per 4-sequence visit on an H100). Weights are
   the untrained paper model: the timing does not depend on their values;
3. a short real training run (``--train-steps`` per stage) of the paper model on a small corpus
   from ``make_corpus`` (2 mm physics renders, resampled to the paper grid), printing the first
   and last losses of each stage to show the loss falling.

Results are printed and written to ``DIR/gpu_braing3n.json`` (with the GPU name).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from generator.braing3n.config import load_config  # noqa: E402
from generator.braing3n.geometry import fit_grid, label_fractions  # noqa: E402
from generator.braing3n.losses import TokenizerLoss  # noqa: E402
from generator.braing3n.models import BrainG3N  # noqa: E402
from generator.braing3n.pipelines import BrainG3NPipeline  # noqa: E402
from generator.braing3n.schedulers import training_scheduler  # noqa: E402
from generator.braing3n.training import STAGES, apply_stage, train, train_step  # noqa: E402

#: Issue 4, item 8: target seconds per 4-sequence visit on an H100 (DDIM-50, bf16, 1 mm).
TARGET_VISIT_S = 5.0


def _sync() -> None:
    torch.cuda.synchronize()


def bench_training_steps(model: BrainG3N, repeats: int) -> dict[str, float]:
    config = model.config
    shape = config.tokenizer.volume_shape
    device = torch.device("cuda")
    image = torch.rand(1, 1, *shape, device=device)
    labels = torch.zeros(1, *shape, dtype=torch.long, device=device)
    labels[:, 60:90, 80:110, 60:90] = 2
    labels[:, 70:80, 90:100, 70:80] = 3
    fractions = torch.stack([(labels == k).float() for k in (-1, 1, 2, 3)], dim=1)
    fractions[:, 0] = 1.0
    batch = {
        "image": image,
        "labels": labels,
        "fractions": fractions,
        "sequence": torch.tensor([1], device=device),
        "covariates": torch.zeros(1, 3, device=device),
    }
    loss_fn = TokenizerLoss(config.losses).to(device)
    ddpm = training_scheduler(config.diffusion)
    out: dict[str, float] = {}
    for stage in STAGES:
        params = apply_stage(model, stage)
        optimizer = torch.optim.AdamW(params, lr=1e-5)
        times = []
        for i in range(repeats + 2):
            _sync()
            start = time.perf_counter()
            train_step(
                model,
                stage,
                batch,
                optimizer,
                params,
                loss_fn=loss_fn,
                scheduler=ddpm,
                autocast=True,
            )
            _sync()
            if i >= 2:  # first two: cudnn autotuning and allocator warm-up
                times.append(time.perf_counter() - start)
        out[stage] = statistics.median(times)
        print(
            f"train step {stage:9s}: {out[stage]:.3f} s  "
            f"(peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB)"
        )
    return out


def bench_inference(model: BrainG3N, repeats: int) -> dict[str, float]:
    from generator.corpus import load_mni152_anatomy, synthetic_tumour

    anatomy = load_mni152_anatomy(1)
    labels = synthetic_tumour(anatomy, np.random.default_rng(0))
    pipeline = BrainG3NPipeline(model.eval(), num_inference_steps=50)
    fit = fit_grid(anatomy.brain_mask, model.config.tokenizer.volume_shape)

    def visit() -> None:
        fractions = label_fractions(labels, anatomy.brain_mask, fit)[None].repeat(4, 1, 1, 1, 1)
        images = pipeline(
            fractions,
            torch.arange(4),
            torch.zeros(4, 3),
            [1, 2, 3, 4],
            autocast_dtype=torch.bfloat16,
        )
        _sync()
        for image in images:
            fit.to_full(image[0].float().cpu())

    visit()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        visit()
        times.append(time.perf_counter() - start)
    visit_s = statistics.median(times)
    print(
        f"inference 1 mm 4-sequence visit, DDIM-50 bf16: {visit_s:.2f} s "
        f"({4 / visit_s:.2f} volumes/s; target <= {TARGET_VISIT_S} s)"
    )
    return {"visit_s": visit_s, "volumes_per_s": 4 / visit_s}


def short_training_run(steps: int, workdir: Path) -> dict[str, list[float]]:
    from generator.corpus import make_corpus

    corpus = workdir / "corpus"
    make_corpus(corpus, n=6, seed=1, progress=False)
    result = train(corpus, load_config("paper"), workdir / "ckpt", steps=steps, progress=True)
    losses: dict[str, list[float]] = {}
    for line in (result.out_dir / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        losses.setdefault(row["stage"], []).append(row["loss"])
    for stage, values in losses.items():
        k = max(1, len(values) // 5)
        print(
            f"short run {stage:9s}: mean loss first {k} steps {np.mean(values[:k]):.4f} -> "
            f"last {k} steps {np.mean(values[-k:]):.4f}"
        )
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for gpu_braing3n.json")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-steps", type=int, default=40)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_braing3n: no CUDA device; this benchmark only runs on a GPU", file=sys.stderr)
        raise SystemExit(2)
    torch.backends.cudnn.benchmark = True
    gpu = torch.cuda.get_device_name(0)
    print(f"device: {gpu}, torch {torch.__version__}")
    torch.manual_seed(0)
    model = BrainG3N(load_config("paper")).cuda()
    print(f"paper model: {model.num_parameters() / 1e6:.1f} M parameters")
    results: dict[str, object] = {
        "gpu": gpu,
        "torch": torch.__version__,
        "parameters": model.num_parameters(),
    }
    results["train_step_s"] = bench_training_steps(model, args.repeats)
    results["inference"] = bench_inference(model, max(1, args.repeats // 2))
    del model
    torch.cuda.empty_cache()
    with tempfile.TemporaryDirectory() as tmp:
        results["short_run_losses"] = short_training_run(args.train_steps, Path(tmp))
    path = Path(args.out) / "gpu_braing3n.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
