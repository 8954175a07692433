"""Example figure for the docs: one simulated visit rendered by physics and BrainG3N next to
its label map.

Run: ``python -m generator.braing3n.examples --out docs/img/braing3n-tiny-example.png
[--checkpoint DIR ...]``. The visit is subject 0 of the corpus cohort (``corpus.CORPUS_SPEC``)
simulated with seed 7 — a cohort the shipped checkpoint was not trained on (its corpus seed is
2026) — at its baseline visit, rendered with subject seed 7; the axial slice with the most
tumour core (necrosis + enhancing). One row per engine: physics, then one per checkpoint
(default: the shipped one). Needs matplotlib.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from generator.engine import SEQUENCES, Engine, get_engine, render_visit

__all__ = ["example_figure"]

LABEL_COLOURS = {1: (0.9, 0.2, 0.2), 2: (0.2, 0.8, 0.2), 3: (1.0, 0.9, 0.1)}


def _row_name(engine: Engine) -> str:
    if engine.name != "braing3n":
        return engine.name
    tokenizer = engine.checkpoint.config.tokenizer  # type: ignore[attr-defined]
    return f"{engine.checkpoint.config.name} ({'dual' if tokenizer.dual_path else 'single'})"  # type: ignore[attr-defined]


def example_figure(
    out: Path,
    *,
    cohort_seed: int = 7,
    subject_seed: int = 7,
    checkpoints: list[Path] | None = None,
) -> Path:
    """Write a PNG with one row per engine and columns labels + the four sequences."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from generator.corpus import CORPUS_COHORT_SIZE, CORPUS_SPEC, CORPUS_VISIT
    from simulation import build_subject_anatomy, parse_spec, simulate_subjects

    spec = parse_spec({**CORPUS_SPEC, "size": CORPUS_COHORT_SIZE, "seed": cohort_seed})
    chunk = simulate_subjects(spec, [0])
    row = chunk.subjects.iloc[0]
    anatomy = build_subject_anatomy(chunk.anatomy_params[row["subject_id"]])
    labels = chunk.label_maps[(row["subject_id"], CORPUS_VISIT)].to_full()
    core = (labels == 1) | (labels == 3)
    z = int(np.argmax((core if core.any() else labels > 0).sum(axis=(0, 1))))
    engines = [get_engine("physics")] + [
        get_engine("braing3n", checkpoint=path) for path in (checkpoints or [None])
    ]
    rows = {
        _row_name(engine): render_visit(
            anatomy,
            labels,
            engine=engine,
            subject_seed=subject_seed,
            age_years=float(row["age"]),
            sex=str(row["sex"]),
        )
        for engine in engines
    }
    fig, axes = plt.subplots(len(rows), 1 + len(SEQUENCES), figsize=(13, 2.8 * len(rows)))
    for r, (name, volumes) in enumerate(rows.items()):
        overlay = np.zeros((*labels.shape[:2], 3))
        for value, colour in LABEL_COLOURS.items():
            overlay[labels[:, :, z] == value] = colour
        base = anatomy.brain_mask[:, :, z] * 0.3
        axes[r, 0].imshow(np.rot90(np.maximum(overlay, base[..., None])))
        axes[r, 0].set_title("labels (1 red, 2 green, 3 yellow)" if r == 0 else "")
        for c, sequence in enumerate(SEQUENCES, start=1):
            image = volumes[sequence][:, :, z]
            axes[r, c].imshow(
                np.rot90(image), cmap="gray", vmax=float(np.percentile(volumes[sequence], 99.5))
            )
            axes[r, c].set_title(f"{name} {sequence}")
        for ax in axes[r]:
            ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, metadata={"Software": None})
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, action="append", help="BrainG3N checkpoint")
    args = parser.parse_args()
    print(example_figure(args.out, checkpoints=args.checkpoint))


if __name__ == "__main__":
    main()
