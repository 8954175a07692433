"""Per-subject anatomy on the MNI152 grid: tissue probabilities, brain mask, tumour seed.

The nilearn MNI152 (ICBM 2009) grey/white-matter templates and brain mask are loaded once per
process. A subject's anatomy is the template warped by a head-size scaling and a smooth random
displacement (a sum of low-frequency Fourier modes), with age-related atrophy (tissue near CSF
thinned, so ventricles and sulci widen). The warp is evaluated point by point, so any sub-region
(the tumour's simulation domain) equals the same region of the full rebuild exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import ndimage

from simulation.calibration import parameters

TEMPLATE_NAME = "MNI152 ICBM2009 (nilearn)"
CSF_ATROPHY_SMOOTHING_VOXELS = 1.5
ATROPHY_NEAR_CSF_GAIN = 3.0  # tissue next to CSF loses this many times the mean atrophy fraction
SEED_MIN_DEPTH_MM = 10.0  # tumour seeds at least 1 cm inside the brain
SEED_MIN_WM_PROBABILITY = 0.5


@dataclass(frozen=True)
class TemplateMaps:
    gm: np.ndarray
    wm: np.ndarray
    mask: np.ndarray  # float32 0/1
    csf_nearness: np.ndarray  # smoothed CSF, 0..1, drives atrophy
    depth_mm: np.ndarray  # distance to the outside of the brain
    affine: np.ndarray
    voxel_size_mm: float


@dataclass
class SubjectAnatomy:
    """Tissue maps of one subject on the full MNI grid (float32 probabilities in [0, 1])."""

    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    brain_mask: np.ndarray
    affine: np.ndarray
    voxel_size_mm: float


@lru_cache(maxsize=2)
def load_template(resolution_mm: int = 2) -> TemplateMaps:
    """MNI152 tissue templates from nilearn's bundled data (cached per process)."""
    from nilearn import datasets

    gm_img = datasets.load_mni152_gm_template(resolution=resolution_mm)
    wm_img = datasets.load_mni152_wm_template(resolution=resolution_mm)
    mask_img = datasets.load_mni152_brain_mask(resolution=resolution_mm)
    mask = (np.asarray(mask_img.get_fdata()) > 0.5).astype(np.float32)
    gm = np.clip(np.asarray(gm_img.get_fdata(), dtype=np.float32), 0, 1) * mask
    wm = np.clip(np.asarray(wm_img.get_fdata(), dtype=np.float32), 0, 1) * mask
    total = gm + wm
    over = total > 1
    gm[over] /= total[over]
    wm[over] /= total[over]
    csf = np.clip(mask - gm - wm, 0, 1)
    near = ndimage.gaussian_filter(csf, CSF_ATROPHY_SMOOTHING_VOXELS)
    near = (near / max(float(near.max()), 1e-6)).astype(np.float32)
    voxel = float(abs(mask_img.affine[0, 0]))
    depth = ndimage.distance_transform_edt(mask > 0).astype(np.float32) * voxel
    for array in (gm, wm, mask, near, depth):
        array.setflags(write=False)
    return TemplateMaps(gm, wm, mask, near, depth, np.asarray(mask_img.affine, float), voxel)


def grid_shape(resolution_mm: int = 2) -> tuple[int, int, int]:
    return tuple(int(n) for n in load_template(resolution_mm).mask.shape)  # type: ignore[return-value]


def brain_centre_mm(resolution_mm: int = 2) -> np.ndarray:
    t = load_template(resolution_mm)
    ijk = np.array(ndimage.center_of_mass(t.mask))
    return t.affine[:3, :3] @ ijk + t.affine[:3, 3]


# --------------------------------------------------------------------------- parameters


def _lobe_of(xyz_mm: np.ndarray) -> np.ndarray:
    """Crude lobe assignment from MNI coordinates (x right, y anterior, z superior)."""
    x, y, z = xyz_mm[:, 0], xyz_mm[:, 1], xyz_mm[:, 2]
    lobe = np.full(len(x), "", dtype=object)
    frontal = (y > -10) & (z > 0)
    parietal = (y <= -10) & (y > -70) & (z > 20)
    temporal = (np.abs(x) > 28) & (y > -70) & (y < 15) & (z <= 0)
    occipital = y <= -70
    deep = (np.abs(x) < 25) & (y > -35) & (y < 15) & (z > -5) & (z < 20)
    lobe[frontal] = "frontal"
    lobe[parietal] = "parietal"
    lobe[temporal] = "temporal"
    lobe[occipital] = "occipital"
    lobe[deep] = "deep"
    return lobe


@lru_cache(maxsize=2)
def _seed_candidates(resolution_mm: int) -> dict[str, np.ndarray]:
    """Template white-matter voxels deep enough for a seed, grouped by lobe."""
    t = load_template(resolution_mm)
    ijk = np.argwhere((t.wm > 0.8) & (t.depth_mm >= SEED_MIN_DEPTH_MM))
    xyz = ijk @ t.affine[:3, :3].T + t.affine[:3, 3]
    lobes = _lobe_of(xyz)
    return {name: ijk[lobes == name] for name in sorted(set(lobes)) if name}


def draw_anatomy_params(
    rng: np.random.Generator, *, age_years: float, resolution_mm: int = 2
) -> dict[str, Any]:
    """Per-subject anatomy parameters (JSON-serialisable); the tumour seed is placed in WM."""
    p = parameters()["anatomy"]
    scale = float(
        np.clip(
            1.0 + p["head_scale_sd"] * rng.standard_normal(),
            p["head_scale_min"],
            p["head_scale_max"],
        )
    )
    atrophy = float(min(max(age_years - 40.0, 0.0) * p["atrophy_per_year_over_40"], 0.25))
    modes = []
    for axis in range(3):
        for _ in range(int(p["deformation_modes"])):
            direction = rng.standard_normal(3)
            direction /= np.linalg.norm(direction)
            wavelength_mm = rng.uniform(60.0, 160.0)
            modes.append(
                {
                    "axis": axis,
                    "wavevector_per_mm": [round(float(v), 8) for v in direction / wavelength_mm],
                    "phase": round(float(rng.uniform(0, 2 * np.pi)), 8),
                    "amplitude_mm": round(
                        float(
                            p["deformation_amplitude_mm"]
                            * rng.uniform(0.3, 1.0)
                            / np.sqrt(p["deformation_modes"])
                        ),
                        8,
                    ),
                }
            )
    params: dict[str, Any] = {
        "template": TEMPLATE_NAME,
        "resolution_mm": int(resolution_mm),
        "head_scale": round(scale, 8),
        "atrophy_fraction": round(atrophy, 8),
        "centre_mm": [round(float(v), 6) for v in brain_centre_mm(resolution_mm)],
        "deformation_modes": modes,
    }
    lobe_prior = p["lobe_prior"]
    candidates = _seed_candidates(resolution_mm)
    names = [name for name in sorted(lobe_prior) if name in candidates]
    weights = np.array([lobe_prior[name] for name in names], float)
    lobe = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    pool = candidates[lobe]
    t = load_template(resolution_mm)
    shape = t.mask.shape
    seed_ijk = None
    for attempt in range(64):
        template_ijk = pool[int(rng.integers(len(pool)))]
        template_mm = t.affine[:3, :3] @ template_ijk + t.affine[:3, 3]
        subject_mm = _approx_forward(params, template_mm)
        ijk = np.rint(np.linalg.solve(t.affine[:3, :3], subject_mm - t.affine[:3, 3])).astype(int)
        if np.any(ijk < 2) or np.any(ijk >= np.array(shape) - 2):
            continue
        wm = _sample(params, ijk[None, :].astype(float), "wm")[0]
        if wm >= SEED_MIN_WM_PROBABILITY or attempt == 63:
            seed_ijk = ijk
            break
    assert seed_ijk is not None
    params["lobe"] = lobe
    params["tumour_seed_voxel"] = [int(v) for v in seed_ijk]
    params["tumour_seed_mm"] = [
        round(float(v), 6) for v in t.affine[:3, :3] @ seed_ijk + t.affine[:3, 3]
    ]
    return params


# --------------------------------------------------------------------------- warp


def _displacement_mm(params: dict[str, Any], xyz_mm: np.ndarray) -> np.ndarray:
    """Displacement (N x 3, mm) at points ``xyz_mm`` (N x 3)."""
    disp = np.zeros_like(xyz_mm)
    for mode in params["deformation_modes"]:
        k = np.asarray(mode["wavevector_per_mm"], float)
        phase = 2 * np.pi * (xyz_mm[:, 0] * k[0] + xyz_mm[:, 1] * k[1] + xyz_mm[:, 2] * k[2])
        disp[:, mode["axis"]] += mode["amplitude_mm"] * np.sin(phase + mode["phase"])
    return disp


def _to_template_mm(params: dict[str, Any], xyz_mm: np.ndarray) -> np.ndarray:
    centre = np.asarray(params["centre_mm"], float)
    return centre + (xyz_mm - centre) / params["head_scale"] + _displacement_mm(params, xyz_mm)


def _approx_forward(params: dict[str, Any], template_mm: np.ndarray) -> np.ndarray:
    """Approximate inverse of :func:`_to_template_mm` (fixed-point iterations)."""
    centre = np.asarray(params["centre_mm"], float)
    x = centre + (template_mm - centre) * params["head_scale"]
    for _ in range(5):
        err = _to_template_mm(params, x[None, :])[0] - template_mm
        x = x - err * params["head_scale"]
    return x


def _axis_mm(affine: np.ndarray, axis: int, lo: int, hi: int) -> np.ndarray:
    return affine[axis, axis] * np.arange(lo, hi, dtype=float) + affine[axis, 3]


def _template_coords_box(
    params: dict[str, Any], lo: tuple[int, int, int], hi: tuple[int, int, int]
) -> np.ndarray:
    """Template voxel coordinates (3, nx, ny, nz) of the subject voxel box [lo, hi).

    Evaluated with separable factors (exp(i k.x) = prod over axes), element by element, so a
    sub-box gives exactly the same numbers as the same voxels of the full grid.
    """
    t = load_template(params["resolution_mm"])
    affine = t.affine
    assert np.allclose(affine[:3, :3], np.diag(np.diag(affine[:3, :3]))), "diagonal affine"
    axes = [_axis_mm(affine, d, lo[d], hi[d]) for d in range(3)]
    centre = np.asarray(params["centre_mm"], float)
    shape = tuple(hi[d] - lo[d] for d in range(3))
    coords = np.empty((3, *shape), dtype=float)
    for d in range(3):
        view = [None, None, None]
        view[d] = slice(None)
        coords[d] = (centre[d] + (axes[d] - centre[d]) / params["head_scale"])[tuple(view)]
    for mode in params["deformation_modes"]:
        k = mode["wavevector_per_mm"]
        fx = np.exp(1j * 2 * np.pi * k[0] * axes[0])[:, None, None]
        fy = np.exp(1j * 2 * np.pi * k[1] * axes[1])[None, :, None]
        fz = np.exp(1j * (2 * np.pi * k[2] * axes[2] + mode["phase"]))[None, None, :]
        coords[mode["axis"]] += mode["amplitude_mm"] * ((fx * fy) * fz).imag
    for d in range(3):
        coords[d] = (coords[d] - affine[d, 3]) / affine[d, d]
    return coords


@lru_cache(maxsize=4)
def _atrophy_loss(resolution_mm: int, which: str) -> np.ndarray:
    """Tissue lost per unit atrophy fraction: more next to CSF (grey matter twice white)."""
    t = load_template(resolution_mm)
    weight = ATROPHY_NEAR_CSF_GAIN * (1.0 if which == "gm" else 0.5)
    tissue = t.gm if which == "gm" else t.wm
    loss = (tissue * (weight * t.csf_nearness)).astype(np.float32)
    loss.setflags(write=False)
    return loss


def _sample_at(params: dict[str, Any], tmpl_ijk: np.ndarray, which: str) -> np.ndarray:
    t = load_template(params["resolution_mm"])
    a = np.float32(params["atrophy_fraction"])
    if which == "mask":
        source = t.mask
    else:
        tissue = t.gm if which == "gm" else t.wm
        source = np.maximum(tissue - a * _atrophy_loss(params["resolution_mm"], which), 0)
    return ndimage.map_coordinates(
        np.asarray(source, np.float32), tmpl_ijk, order=1, mode="constant", cval=0.0
    ).astype(np.float32)


def _sample(params: dict[str, Any], ijk: np.ndarray, which: str) -> np.ndarray:
    """Sample one warped template map at one subject voxel ``ijk`` (1 x 3 integer array)."""
    i, j, k = (int(v) for v in ijk[0])
    coords = _template_coords_box(params, (i, j, k), (i + 1, j + 1, k + 1))
    return _sample_at(params, coords, which).reshape(1)


def tissue_region(
    params: dict[str, Any], lo: tuple[int, int, int], hi: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(gm, wm, csf, mask) of the subject on the voxel box ``[lo, hi)`` of the full grid."""
    coords = _template_coords_box(params, lo, hi)
    mask = _sample_at(params, coords, "mask") >= 0.5
    gm = _sample_at(params, coords, "gm") * mask
    wm = _sample_at(params, coords, "wm") * mask
    total = gm + wm
    over = total > 1
    gm[over] /= total[over]
    wm[over] /= total[over]
    csf = np.clip(mask.astype(np.float32) - gm - wm, 0, 1)
    return (
        np.clip(gm, 0, 1).astype(np.float32),
        np.clip(wm, 0, 1).astype(np.float32),
        csf.astype(np.float32),
        mask,
    )


def build_subject_anatomy(anatomy_params: dict[str, Any]) -> SubjectAnatomy:
    """Deterministic rebuild of a subject's anatomy on the full MNI grid from its parameters."""
    resolution = int(anatomy_params["resolution_mm"])
    t = load_template(resolution)
    shape = t.mask.shape
    gm, wm, csf, mask = tissue_region(anatomy_params, (0, 0, 0), shape)
    return SubjectAnatomy(
        gm=gm,
        wm=wm,
        csf=csf,
        brain_mask=mask.astype(bool),
        affine=t.affine.copy(),
        voxel_size_mm=t.voxel_size_mm,
    )
