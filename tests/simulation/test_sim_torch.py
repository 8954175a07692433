"""The batched torch backend (run here on the CPU; the same code runs on CUDA)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from test_sim_growth import front_position_mm, slab_domain

from simulation import parse_spec, simulate_subjects
from simulation.cohort import ASSESSMENT_COLUMNS, SUBJECT_COLUMNS
from simulation.subject import GrowRequest
from simulation.torch_backend import TorchBatch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _advance(batch, views, days, step_days):
    """Grow every view by ``days`` in lockstep; each view has its own step length."""
    elapsed = [0] * len(views)
    while any(e < days for e in elapsed):
        requests = []
        for n, view in enumerate(views):
            step = min(step_days[n], days - elapsed[n]) if elapsed[n] < days else 0
            if step:
                requests.append(GrowRequest(view, step))
                elapsed[n] += step
        batch.grow(requests)
        for request in requests:
            request.domain.update_box()


def _profile(batch, view):
    batch.prepare([view])
    return batch.download(view)


@pytest.mark.parametrize(
    ("diffusivity", "rho", "step_days", "t1", "t2"),
    [(1.0, 0.1, 1, 300, 600), (0.1, 0.02, 7, 800, 1600)],
)
def test_torch_front_speed_matches_fisher_kpp(diffusivity, rho, step_days, t1, t2):
    """2 sqrt(D rho) within 5%, with a companion slab needing other sub-steps in the same batch."""
    bramson_mm = 3 / (2 * math.sqrt(rho / diffusivity)) * math.log(t2 / t1)
    expected = 2 * math.sqrt(diffusivity * rho) - bramson_mm / (t2 - t1)
    batch = TorchBatch(2, (500, 3, 3), "cpu")
    view = batch.attach(slab_domain(500, diffusivity, rho, 2.0))
    companion = batch.attach(slab_domain(400, 0.6, 0.05, 2.0))
    steps = [step_days, 3]
    _advance(batch, [view, companion], t1, steps)
    x1 = front_position_mm(_profile(batch, view))
    _advance(batch, [view, companion], t2 - t1, steps)
    x2 = front_position_mm(_profile(batch, view))
    speed = (x2 - x1) / (t2 - t1)
    assert abs(speed - expected) / expected < 0.05, (speed, expected)


def test_torch_step_equals_the_numba_kernel_bit_for_bit():
    numba_domain = slab_domain(120, 0.5, 0.05, 2.0)
    batch = TorchBatch(1, (120, 3, 3), "cpu")
    view = batch.attach(slab_domain(120, 0.5, 0.05, 2.0))
    numba_domain.kill(0.6)  # the dead compartment decays from now on
    view.kill(0.6)
    for _ in range(20):
        expected = numba_domain.grow(5, 1.0, 0.9, 0.8)
        numba_domain.update_box()
        (burden,) = batch.grow([GrowRequest(view, 5, 1.0, 0.9, 0.8)])
        view.update_box()
        assert burden == expected
    host = _profile(batch, view)
    assert np.array_equal(host.density, numba_domain.density)
    assert np.array_equal(host.dead, numba_domain.dead)
    assert np.array_equal(host.necrosis, numba_domain.necrosis)


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True
    )


@pytest.fixture(scope="session")
def torch_chunk(small_spec):
    return simulate_subjects(small_spec, range(small_spec.size), backend="torch", batch_size=3)


def test_torch_backend_gives_the_numba_results_exactly(small_chunk, torch_chunk):
    """Measured tolerance: none. OS, PFS, every read-out and every label map are identical."""
    _frames_equal(torch_chunk.subjects, small_chunk.subjects)
    _frames_equal(torch_chunk.assessments, small_chunk.assessments)
    assert torch_chunk.label_maps.keys() == small_chunk.label_maps.keys()
    for key, cropped in torch_chunk.label_maps.items():
        assert cropped.origin == small_chunk.label_maps[key].origin
        assert np.array_equal(cropped.labels, small_chunk.label_maps[key].labels)


def test_torch_results_do_not_depend_on_the_batch(small_spec, torch_chunk):
    again = simulate_subjects(small_spec, [6, 1, 3], backend="torch", batch_size=2)
    whole = torch_chunk.subjects.set_index("subject_index").loc[[6, 1, 3]].reset_index()
    _frames_equal(again.subjects, whole[list(SUBJECT_COLUMNS)])
    ids = list(again.subjects.subject_id)
    visits = torch_chunk.assessments[torch_chunk.assessments.subject_id.isin(ids)]
    visits = visits.set_index("subject_id").loc[ids].reset_index()[list(ASSESSMENT_COLUMNS)]
    _frames_equal(again.assessments, visits)


def test_torch_backend_is_deterministic(small_spec):
    first = simulate_subjects(small_spec, [2, 4], backend="torch", batch_size=2)
    second = simulate_subjects(small_spec, [2, 4], backend="torch", batch_size=2)
    _frames_equal(first.subjects, second.subjects)
    _frames_equal(first.assessments, second.assessments)


def test_torch_progress_and_recurrent_regimens():
    spec = parse_spec(
        {
            "size": 3,
            "seed": 5,
            "indication": "gbm_recurrent",
            "regimen": "bevacizumab",
            "follow_up_months": 4,
            "visit_interval_weeks": 6,
        }
    )
    calls = []
    chunk = simulate_subjects(
        spec, [0, 1, 2], backend="torch", batch_size=2, progress=lambda d, t: calls.append(d)
    )
    numba = simulate_subjects(spec, [0, 1, 2])
    _frames_equal(chunk.subjects, numba.subjects)
    assert sorted(calls) == [1, 2, 3]


def test_backend_and_device_choices_are_checked(small_spec):
    with pytest.raises(ValueError, match="backend"):
        simulate_subjects(small_spec, [0], backend="jax")
    with pytest.raises(ValueError, match="CPU only"):
        simulate_subjects(small_spec, [0], device="cuda", backend="numba")
    with pytest.raises(ValueError, match="batch_size"):
        simulate_subjects(small_spec, [0], backend="torch", batch_size=0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            simulate_subjects(small_spec, [0], device="cuda")
