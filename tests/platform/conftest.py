"""Fixtures of the platform apps: organisations, a user per role, clients, specs, stored runs.

`stored_run` builds a succeeded run from contract-shaped frames (``cohort_frames``) without a
worker, for API tests; the integration tests run the real simulation on real workers.
"""

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from rest_framework.test import APIClient

ROLES = ("designer", "auditor", "admin")
SMALL_SPEC = {
    "size": 8,
    "seed": 20260101,
    "indication": "gbm_newly_diagnosed",
    "regimen": "stupp_rt_tmz",
    "follow_up_months": 24,
}


@pytest.fixture
def spec_data() -> dict:
    return dict(SMALL_SPEC)


@pytest.fixture
def organisation(db):
    from accounts.services import organisation_create

    return organisation_create(name="Acme Oncology")


@pytest.fixture
def other_organisation(db):
    from accounts.services import organisation_create

    return organisation_create(name="Rival Pharma")


@pytest.fixture
def members(organisation) -> dict:
    """role -> user of `organisation` (password: '<role>-password')."""
    from accounts.services import member_create

    return {
        role: member_create(
            organisation=organisation,
            username=f"acme-{role}",
            password=f"{role}-password",
            role=role,
        ).user
        for role in ROLES
    }


@pytest.fixture
def foreign_designer(other_organisation):
    from accounts.services import member_create

    return member_create(
        organisation=other_organisation,
        username="rival-designer",
        password="designer-password",
        role="designer",
    ).user


@pytest.fixture
def api_as() -> Callable:
    def make(user) -> APIClient:  # noqa: ANN001
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def designer_api(members, api_as) -> APIClient:
    return api_as(members["designer"])


@pytest.fixture
def trial(organisation, members):
    from trials.services import trial_create

    return trial_create(
        organisation=organisation,
        actor=members["designer"],
        name="Stupp control arm",
        description="RT + TMZ control arm",
    )


@pytest.fixture
def spec(trial, members, spec_data):
    from trials.services import spec_create

    return spec_create(trial=trial, actor=members["designer"], data=spec_data)


# --- Contract-shaped cohort frames (for API and statistics tests; no simulation run) ----------


def cohort_frames(
    size: int, *, seed: int = 0, visits: int = 4
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Subjects and assessments with the columns and value sets of `simulate_subjects`."""
    rng = np.random.default_rng(seed)
    index = np.arange(size)
    os_months = rng.exponential(16.0, size).round(3) + 0.5
    pfs_months = np.minimum(os_months, rng.exponential(7.0, size).round(3) + 0.3)
    subjects = pd.DataFrame(
        {
            "subject_id": [f"SCA-{i + 1:06d}" for i in index],
            "subject_index": index,
            "age": rng.normal(56, 10, size).clip(18, 70).round(1),
            "sex": rng.choice(["M", "F"], size, p=[0.63, 0.37]),
            "race": rng.choice(["white", "black", "asian"], size, p=[0.9, 0.06, 0.04]),
            "ethnicity": rng.choice(
                ["hispanic_or_latino", "not_hispanic_or_latino"], size, p=[0.1, 0.9]
            ),
            "kps": rng.choice([100, 90, 80, 70, 60], size),
            "mgmt_methylated": rng.random(size) < 0.45,
            "idh_mutant": rng.random(size) < 0.07,
            "resection": rng.choice(["gtr", "str", "biopsy"], size, p=[0.39, 0.45, 0.16]),
            "regimen": "stupp_rt_tmz",
            "os_months": os_months,
            "os_event": (rng.random(size) < 0.8).astype(int),
            "pfs_months": pfs_months,
            "pfs_event": (rng.random(size) < 0.9).astype(int),
            "best_response": rng.choice(["CR", "PR", "SD", "PD", "NE"], size),
        }
    )
    rows = [
        {
            "subject_id": sid,
            "visit": v,
            "day": 56 * v,
            "enhancing_ml": float(rng.gamma(2, 3)),
            "necrosis_ml": float(rng.gamma(2, 1)),
            "edema_ml": float(rng.gamma(3, 8)),
            "spd_mm2": float(rng.gamma(2, 300)),
            "response": "" if v == 0 else "SD",
        }
        for sid in subjects["subject_id"]
        for v in range(visits)
    ]
    return subjects, pd.DataFrame(rows)


@pytest.fixture
def make_cohort_frames() -> Callable:
    return cohort_frames


_STATISTICS_CACHE: dict[tuple, tuple[dict, dict]] = {}


@pytest.fixture
def stored_run_factory(members) -> Callable:
    """A succeeded run of `spec` whose subjects come from `cohort_frames` (no worker)."""
    from django.db import transaction

    from runs.models import ChunkStatus, RunStatus
    from runs.services import run_launch, subjects_store
    from runs.statistics import compute_run_statistics_and_plots

    def make(spec, *, size: int | None = None, seed: int = 0):  # noqa: ANN001, ANN202
        run = run_launch(spec=spec, actor=members["designer"])
        subjects, assessments = cohort_frames(size or run.size, seed=seed)
        with transaction.atomic():
            subjects_store(run=run, subjects=subjects, assessments=assessments)
            run.chunks.update(status=ChunkStatus.DONE)
            run.chunks_done = run.chunks_total
            run.status = RunStatus.RUNNING
            run.save()
        from runs.services import run_complete

        key = (len(subjects), seed, json.dumps(spec.data, sort_keys=True))
        if key not in _STATISTICS_CACHE:  # a pure function of the frames and spec: reuse it
            _STATISTICS_CACHE[key] = compute_run_statistics_and_plots(run=run)
        statistics, subject_plots = _STATISTICS_CACHE[key]
        run_complete(
            run_id=run.pk, statistics=statistics, subject_plots=subject_plots, compute_s=0.0
        )
        run.refresh_from_db()
        return run

    return make


@pytest.fixture
def stored_run(stored_run_factory, spec):
    return stored_run_factory(spec)


# --- Waiting on real workers -----------------------------------------------------------------


@pytest.fixture
def wait_for() -> Callable:
    """Poll ``predicate`` until it returns a truthy value (returned) or fail after timeout_s."""
    import time

    def wait(predicate: Callable, *, timeout_s: float = 120.0, what: str = "condition"):  # noqa: ANN202
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.25)
        pytest.fail(f"timed out after {timeout_s} s waiting for {what}")

    return wait


@pytest.fixture
def wait_for_run(wait_for) -> Callable:
    def wait_run(run_id: int, *, timeout_s: float = 180.0):  # noqa: ANN202
        from runs.models import SimulationRun

        def finished():  # noqa: ANN202
            run = SimulationRun.objects.get(pk=run_id)
            return run if run.is_terminal else None

        return wait_for(finished, timeout_s=timeout_s, what=f"run {run_id} to finish")

    return wait_run
