"""The ``braing3n`` engine: the neural generator behind ``generator.engine.Engine``.

By default it loads the shipped tiny checkpoint (``generator/checkpoints/braing3n-tiny``), no
download. The tiny model works on a 32^3 grid: the subject's brain box is resampled to it, the
volume is generated there and resampled back onto the label map's grid (2 mm MNI 99x117x95 or
any other), so its output is smooth at about 5-6 mm effective resolution. That is the honest
cost of a CPU-sized model; the ``paper`` config generates at 160x192x160.

Determinism: the DDIM sampler runs with eta = 0 from noise seeded by SHA-256 of (subject seed,
sequence), one sample at a time, under ``torch.use_deterministic_algorithms``; the same request
gives byte-identical output, and the same subject keeps its noise (texture) at every visit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from generator.braing3n.checkpoint import load_checkpoint
from generator.braing3n.data import covariate_vector
from generator.braing3n.errors import CheckpointError
from generator.braing3n.geometry import fit_grid, from_ras, label_fractions, to_ras
from generator.braing3n.pipelines import BrainG3NPipeline
from generator.engine import SEQUENCES, Engine, RenderRequest, validate_request

__all__ = ["DEFAULT_CHECKPOINT", "BrainG3NEngine", "sampling_seed"]

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "braing3n-tiny"
ENGINE_VERSION = "0.2"


def sampling_seed(subject_seed: int, sequence: str) -> int:
    """63-bit sampler seed from the subject and sequence (not the visit: texture persists)."""
    digest = hashlib.sha256(f"braing3n:{int(subject_seed)}:{sequence}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@contextmanager
def _deterministic() -> Iterator[None]:
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


class BrainG3NEngine(Engine):
    """Render sequences with a trained BrainG3N checkpoint.

    Args:
        checkpoint: checkpoint directory (default: the shipped tiny checkpoint).
        device: torch device (``"cuda"`` on GPU workers).
        num_inference_steps: DDIM steps (default: the checkpoint config's).
    """

    name: ClassVar[str] = "braing3n"
    version: ClassVar[str] = ENGINE_VERSION

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        *,
        device: str = "cpu",
        num_inference_steps: int | None = None,
    ) -> None:
        loaded = load_checkpoint(checkpoint or DEFAULT_CHECKPOINT, map_location=device)
        if "diffusion" not in loaded.manifest.get("completed_stages", []):
            raise CheckpointError(
                f"{loaded.path}: training has not finished the diffusion stage; "
                "resume it with `python -m generator train --resume`"
            )
        self.checkpoint = loaded
        self.pipeline = BrainG3NPipeline(loaded.model, num_inference_steps)
        steps = len(self.pipeline.scheduler.timesteps)
        # Instance attribute: the version names the weights and sampler, for cache keys.
        self.version = f"{ENGINE_VERSION}+{loaded.config.name}.{loaded.sha256[:12]}.ddim{steps}"  # type: ignore[misc]

    def render(self, request: RenderRequest) -> np.ndarray:
        """Render one sequence; float32 on the label map's grid, 0 outside the brain.

        Intensities are in the training normalisation: 1.0 is the 99.5th percentile of the
        brain in the training data.
        """
        request = validate_request(request)
        anatomy = request.anatomy
        affine = np.asarray(anatomy.affine, dtype=np.float64)
        mask = to_ras(np.asarray(anatomy.brain_mask, dtype=bool), affine)
        labels = to_ras(np.asarray(request.labels), affine)
        fit = fit_grid(mask, self.checkpoint.config.tokenizer.volume_shape)
        fractions = label_fractions(labels, mask, fit)[None]
        sequence = torch.tensor([SEQUENCES.index(request.sequence)])
        covariates = covariate_vector(request.age_years, request.sex)[None]
        seed = sampling_seed(request.subject_seed, request.sequence)
        with _deterministic():
            image = self.pipeline(fractions, sequence, covariates, [seed])
        volume = fit.to_full(image[0, 0].cpu()) * mask
        return np.ascontiguousarray(from_ras(volume, affine), dtype=np.float32)

    def render_many(self, requests: Sequence[RenderRequest]) -> list[np.ndarray]:
        """One sample at a time, so a volume never depends on what it was batched with."""
        return [self.render(request) for request in requests]
