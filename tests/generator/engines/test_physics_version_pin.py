"""The physics engine's version names its output: a changed output needs a new version.

The platform keys its volume cache on (engine name, engine version, inputs). If the engine's
output changed while ``PhysicsEngine.version`` stayed the same, cached volumes would silently
disagree with fresh renders. This test renders a fixed reference visit (a small synthetic
anatomy with every tumour compartment, all four sequences, mass effect, bias and noise on) and
pins the checksum of its output to the engine version.

When it fails after an intended change: bump ``PhysicsEngine.version`` and add
``"<new version>": "<checksum printed in the failure>"`` to ``REFERENCE_CHECKSUMS``.

The checksum is taken over the volumes rounded to whole output units (WM reads 1000), i.e. a
changed value matters, a last-bit difference of a libm on another CPU does not.
"""

from __future__ import annotations

import hashlib

import numpy as np

from generator.corpus import TemplateAnatomy
from generator.engine import SEQUENCES, render_visit
from generator.engines.physics import PhysicsEngine

#: Engine version -> SHA-256 of the rounded reference volumes (see module docstring).
REFERENCE_CHECKSUMS: dict[str, str] = {
    "1.1.0": "9ec2c80bec3503130f8a1122b9d6cfef613f97a7472456a9c1d3a64c6be0248b",
}

REFERENCE_SHAPE = (24, 28, 24)
REFERENCE_VOXEL_MM = 2.0
REFERENCE_SUBJECT_SEED = 20260101


def reference_visit() -> tuple[TemplateAnatomy, np.ndarray]:
    """A layered ellipsoidal 'brain' (CSF ventricle, WM core, GM cortex) and a tumour with
    necrosis, enhancing rim and oedema, all from closed-form geometry (no files, no RNG)."""
    ijk = np.indices(REFERENCE_SHAPE, dtype=np.float32)
    centre = (np.array(REFERENCE_SHAPE, dtype=np.float32) - 1) / 2
    semi_axes = centre * 0.9
    q = np.sqrt(sum(((ijk[a] - centre[a]) / semi_axes[a]) ** 2 for a in range(3)))
    brain = q < 1.0
    csf = np.clip(1.0 - q / 0.25, 0.0, 1.0) + np.clip((q - 0.92) / 0.08, 0.0, 1.0)
    gm = np.clip((q - 0.7) / 0.1, 0.0, 1.0) * (1.0 - np.clip((q - 0.92) / 0.08, 0.0, 1.0))
    wm = np.clip(1.0 - gm - csf, 0.0, 1.0)
    zero = ~brain
    for tissue in (gm, wm, csf):
        tissue[zero] = 0.0
    r = np.sqrt(((ijk - np.array([15.0, 16.0, 12.0])[:, None, None, None]) ** 2).sum(axis=0))
    labels = np.zeros(REFERENCE_SHAPE, dtype=np.uint8)
    labels[r < 6.0] = 2
    labels[r < 3.5] = 3
    labels[r < 2.0] = 1
    labels[zero] = 0
    affine = np.diag([REFERENCE_VOXEL_MM, REFERENCE_VOXEL_MM, REFERENCE_VOXEL_MM, 1.0])
    affine[:3, 3] = -centre * REFERENCE_VOXEL_MM
    anatomy = TemplateAnatomy(
        gm.astype(np.float32),
        wm.astype(np.float32),
        csf.astype(np.float32),
        brain,
        affine,
        REFERENCE_VOXEL_MM,
    )
    return anatomy, labels


def reference_checksum(engine: PhysicsEngine) -> str:
    anatomy, labels = reference_visit()
    volumes = render_visit(
        anatomy, labels, engine=engine, subject_seed=REFERENCE_SUBJECT_SEED, age_years=70.0
    )
    digest = hashlib.sha256()
    for sequence in SEQUENCES:
        digest.update(sequence.encode())
        digest.update(np.rint(volumes[sequence]).astype("<i4").tobytes())
    return digest.hexdigest()


def test_reference_visit_exercises_every_compartment() -> None:
    anatomy, labels = reference_visit()
    assert set(np.unique(labels).tolist()) == {0, 1, 2, 3}
    for tissue in (anatomy.gm, anatomy.wm, anatomy.csf):
        assert tissue[anatomy.brain_mask].max() > 0.9


def test_output_checksum_is_pinned_to_the_engine_version() -> None:
    engine = PhysicsEngine()
    checksum = reference_checksum(engine)
    assert engine.version in REFERENCE_CHECKSUMS, (
        f"PhysicsEngine.version {engine.version!r} has no pinned checksum; add "
        f'"{engine.version}": "{checksum}" to REFERENCE_CHECKSUMS'
    )
    assert checksum == REFERENCE_CHECKSUMS[engine.version], (
        f"the physics engine's output changed but its version ({engine.version}) did not: "
        f'bump PhysicsEngine.version and pin "<new version>": "{checksum}"'
    )


def test_the_pin_detects_a_changed_output() -> None:
    """A different engine setting (a stand-in for a code change) changes the checksum."""
    assert reference_checksum(PhysicsEngine(noise_fraction=0.02)) != reference_checksum(
        PhysicsEngine()
    )
