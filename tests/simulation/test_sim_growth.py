"""Numerical verification of the proliferation-invasion solver."""

import math

import numpy as np
import pytest

from simulation.growth import GrowthDomain


def slab_domain(length, diffusivity, rho, voxel_mm, front_voxels=6):
    """A 1-D slab (length x 3 x 3 voxels) whose side voxels carry no flux (D = 0)."""
    d = np.zeros((length, 3, 3), np.float32)
    d[1:-1, 1, 1] = diffusivity  # the end voxels carry no flux either
    c = np.zeros_like(d)
    c[1:front_voxels, 1, 1] = 1.0  # voxel 0 is the fixed domain edge
    zeros = np.zeros_like(d)
    return GrowthDomain(
        origin=(0, 0, 0),
        voxel_size_mm=voxel_mm,
        diffusivity=d,
        density=c,
        dead=zeros.copy(),
        effect=zeros.copy(),
        necrosis=np.zeros(d.shape, np.uint8),
        cavity=np.zeros(d.shape, bool),
        rho_per_day=rho,
    )


def front_position_mm(domain, level=0.5):
    profile = domain.density[:, 1, 1].astype(float)
    i = 1 + int(np.argmax(profile[1:] < level))
    frac = (profile[i - 1] - level) / (profile[i - 1] - profile[i])
    return (i - 1 + frac) * domain.voxel_size_mm


def advance(domain, days, step_days):
    elapsed = 0
    while elapsed < days:
        domain.grow(step_days)
        elapsed += step_days
        domain.update_box()


@pytest.mark.parametrize(
    ("diffusivity", "rho", "voxel_mm", "step_days", "t1", "t2"),
    [
        (1.0, 0.1, 2.0, 1, 300, 600),  # fast tumour on the production 2 mm grid, daily steps
        (0.5, 0.05, 2.0, 4, 600, 1200),  # the multi-day steps used between treatment events
        (0.1, 0.02, 2.0, 7, 800, 1600),  # a median patient with the longest step
    ],
)
def test_front_speed_matches_fisher_kpp_in_a_homogeneous_medium(
    diffusivity, rho, voxel_mm, step_days, t1, t2
):
    """Travelling-wave speed 2 sqrt(D rho) within 5%.

    A pulled front from a steep initial condition approaches its speed as
    x(t) = 2 sqrt(D rho) t - 3/(2 s) ln t (Bramson), s = sqrt(rho / D); that known physical
    transient is added to the expectation so the test measures the solver's error only.
    """
    bramson_mm = 3 / (2 * math.sqrt(rho / diffusivity)) * math.log(t2 / t1)
    expected = 2 * math.sqrt(diffusivity * rho) - bramson_mm / (t2 - t1)
    domain = slab_domain(500, diffusivity, rho, voxel_mm)
    advance(domain, t1, step_days)
    x1 = front_position_mm(domain)
    advance(domain, t2 - t1, step_days)
    x2 = front_position_mm(domain)
    speed = (x2 - x1) / (t2 - t1)
    assert abs(speed - expected) / expected < 0.05, (speed, expected)


def test_zero_flux_conserves_cells_and_never_enters_csf():
    d = np.full((20, 20, 20), 0.5, np.float32)
    d[10:, :, :] = 0.0  # CSF half: no diffusion across
    d[[0, -1], :, :] = 0
    d[:, [0, -1], :] = 0
    d[:, :, [0, -1]] = 0
    c = np.where(d > 0, np.float32(1e-3), np.float32(0))  # the active box spans the tissue
    c[5, 10, 10] = 1.0
    zeros = np.zeros_like(d)
    domain = GrowthDomain(
        (0, 0, 0),
        1.0,
        d,
        c,
        zeros.copy(),
        zeros.copy(),
        np.zeros(d.shape, np.uint8),
        np.zeros(d.shape, bool),
        rho_per_day=0.0,
    )
    before = domain.burden_ml()
    for _ in range(30):
        domain.grow(1)
        domain.update_box()
    assert domain.burden_ml() == pytest.approx(before, rel=1e-4)
    assert domain.density[10:].max() == 0


def test_white_matter_carries_the_tumour_further_than_grey_matter():
    white = slab_domain(120, 0.5, 0.05, 2.0)
    grey = slab_domain(120, 0.5 / 7, 0.05, 2.0)
    advance(white, 150, 2)
    advance(grey, 150, 2)
    assert front_position_mm(white) > 1.8 * front_position_mm(grey)


def test_kill_moves_cells_to_the_dead_compartment():
    domain = slab_domain(40, 0.5, 0.05, 2.0)
    before = domain.density.copy()
    domain.kill(0.25)
    assert np.allclose(domain.density, before * 0.25)
    assert np.allclose(domain.density + domain.dead, before)


def test_large_steps_stay_stable():
    domain = slab_domain(60, 0.6, 0.05, 1.0)  # needs sub-steps: D dt / h^2 > 0.45
    domain.grow(7)
    assert np.all(domain.density <= 1.0) and np.all(domain.density >= 0)
