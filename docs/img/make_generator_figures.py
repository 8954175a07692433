"""Regenerate the physics-engine figures of docs/generator.md.

Run: ``python docs/img/make_generator_figures.py`` (writes generator-*.png next to this file).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from generator.corpus import load_mni152_anatomy  # noqa: E402
from generator.engine import SEQUENCES, render_visit  # noqa: E402
from generator.engines.physics import PhysicsEngine  # noqa: E402

TITLES = {"t1n": "T1 (t1n)", "t1c": "T1-Gd (t1c)", "t2w": "T2 (t2w)", "t2f": "FLAIR (t2f)"}
#: BraTS label colours: necrosis red, oedema green, enhancing yellow.
LABEL_CMAP = ListedColormap([(0, 0, 0, 0), (0.9, 0.1, 0.1, 1), (0.1, 0.8, 0.2, 1), (1, 0.9, 0, 1)])
#: Right deep white matter (MNI mm), where the example tumours sit.
CENTRE_MM = np.array([26.0, -12.0, 24.0])


def sphere_labels(anatomy, radius_mm: float) -> np.ndarray:
    shape = anatomy.brain_mask.shape
    ijk = np.indices(shape, dtype=np.float32).reshape(3, -1)
    xyz = anatomy.affine[:3, :3] @ ijk + anatomy.affine[:3, 3:4]
    rng = np.random.default_rng(0)
    stretch = np.array([1.0, 1.25, 0.9])[:, None]
    r = np.linalg.norm((xyz - CENTRE_MM[:, None]) / stretch, axis=0).reshape(shape)
    wobble = 1.0 + 0.08 * np.sin(xyz[0] / 4.0 + rng.uniform(0, 6)).reshape(shape)
    r = r * wobble
    labels = np.zeros(shape, dtype=np.uint8)
    labels[(r < radius_mm * 1.8) & (anatomy.csf < 0.5)] = 2
    labels[r < radius_mm] = 3
    labels[r < radius_mm * 0.55] = 1
    labels[~anatomy.brain_mask] = 0
    return labels


def axial(volume: np.ndarray, k: int) -> np.ndarray:
    return np.rot90(volume[:, :, k])  # anterior up, patient right on the right (neurological)


def window(volume: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    return 0.0, float(np.percentile(volume[mask], 99.5))


def figure_sequences(anatomy, out: Path) -> None:
    labels = sphere_labels(anatomy, 13.0)
    volumes = render_visit(anatomy, labels, engine=PhysicsEngine(), subject_seed=2026)
    k = int(round(np.argwhere(labels > 0)[:, 2].mean()))
    fig, axes = plt.subplots(1, 5, figsize=(15, 3.6), facecolor="black")
    for ax, sequence in zip(axes, SEQUENCES, strict=False):
        vmin, vmax = window(volumes[sequence], anatomy.brain_mask)
        ax.imshow(axial(volumes[sequence], k), cmap="gray", vmin=vmin, vmax=vmax)
        ax.set_title(TITLES[sequence], color="white")
    vmin, vmax = window(volumes["t1n"], anatomy.brain_mask)
    axes[4].imshow(axial(volumes["t1n"], k), cmap="gray", vmin=vmin, vmax=vmax)
    axes[4].imshow(axial(labels, k), cmap=LABEL_CMAP, vmin=0, vmax=3, interpolation="nearest")
    axes[4].set_title("labels: 1 red, 2 green, 3 yellow", color="white")
    for ax in axes:
        ax.axis("off")
    fig.suptitle(
        f"physics engine, MNI152 {anatomy.voxel_size_mm:g} mm, axial slice {k}", color="white"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=80, facecolor="black")
    plt.close(fig)


def figure_visits(anatomy, out: Path) -> None:
    engine = PhysicsEngine()
    small, large = sphere_labels(anatomy, 7.0), sphere_labels(anatomy, 14.0)
    first = render_visit(anatomy, small, engine=engine, subject_seed=2026, sequences=("t1c", "t2f"))
    second = render_visit(
        anatomy, large, engine=engine, subject_seed=2026, sequences=("t1c", "t2f")
    )
    k = int(round(np.argwhere(large > 0)[:, 2].mean()))
    fig, axes = plt.subplots(2, 3, figsize=(10, 7), facecolor="black")
    for row, sequence in enumerate(("t1c", "t2f")):
        vmin, vmax = window(second[sequence], anatomy.brain_mask)
        difference = second[sequence] - first[sequence]
        panels = [
            (first[sequence], "gray", (vmin, vmax), f"visit 1 {sequence}"),
            (second[sequence], "gray", (vmin, vmax), f"visit 2 {sequence}"),
            (difference, "coolwarm", (-vmax / 2, vmax / 2), "visit 2 - visit 1"),
        ]
        for ax, (image, cmap, (lo, hi), title) in zip(axes[row], panels, strict=True):
            ax.imshow(axial(image, k), cmap=cmap, vmin=lo, vmax=hi)
            ax.set_title(title, color="white")
            ax.axis("off")
    fig.suptitle(
        "same subject, two visits: only the tumour and its mass effect change", color="white"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=80, facecolor="black")
    plt.close(fig)


def main() -> int:
    anatomy_1mm = load_mni152_anatomy(1)
    figure_sequences(anatomy_1mm, HERE / "generator-physics-1mm.png")
    figure_sequences(load_mni152_anatomy(2), HERE / "generator-physics-2mm.png")
    figure_visits(anatomy_1mm, HERE / "generator-visits.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
