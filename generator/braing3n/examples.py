"""Example figure for the docs: one visit rendered by BrainG3N (and physics) next to its labels.

Run: ``python -m generator.braing3n.examples --out docs/img/braing3n-tiny-example.png``
(MNI152 2 mm anatomy, ``synthetic_tumour`` seed 3, subject seed 7, axial slice through the
tumour centre). Needs matplotlib.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from generator.engine import SEQUENCES, render_visit

__all__ = ["example_figure"]

LABEL_COLOURS = {1: (0.9, 0.2, 0.2), 2: (0.2, 0.8, 0.2), 3: (1.0, 0.9, 0.1)}


def example_figure(out: Path, *, tumour_seed: int = 3, subject_seed: int = 7) -> Path:
    """Write a PNG with rows physics / braing3n and columns labels + the four sequences."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from generator.corpus import load_mni152_anatomy, synthetic_tumour

    anatomy = load_mni152_anatomy(2)
    labels = synthetic_tumour(anatomy, np.random.default_rng(tumour_seed))
    z = int(np.round(np.nonzero(labels)[2].mean()))
    rows = {
        name: render_visit(anatomy, labels, engine=name, subject_seed=subject_seed)
        for name in ("physics", "braing3n")
    }
    fig, axes = plt.subplots(len(rows), 1 + len(SEQUENCES), figsize=(13, 5.6))
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
    args = parser.parse_args()
    print(example_figure(args.out))


if __name__ == "__main__":
    main()
