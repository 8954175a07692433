"""The cohort dashboard of a 10,000-subject run is served from stored statistics in <= 300 ms.

Issue 6 sets the bar: server time <= 300 ms for a 10,000-subject run (statistics precomputed).
The figure is the view's own `Server-Timing` (the same header the browser test reads), the
median of several requests after one warm-up; the machine is shared, so the bound is checked on
the median, not on every request. The per-subject plot series the page fetches next are stored
with the statistics too (sampled to a bounded size) and held to the same budget.
"""

import re
import statistics
import time

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LARGE_RUN_SUBJECTS = 10_000
SERVER_TIME_BUDGET_MS = 300  # issue 6, "Speed"
REQUESTS = 7
SERIES_MAX_BYTES = 2 * 1024 * 1024  # "a few MB at most" for 10,000 subjects, with room to spare


@pytest.fixture
def large_run(organisation, members):
    from trials.services import spec_create, trial_create

    trial = trial_create(organisation=organisation, actor=members["designer"], name="Large arm")
    spec = spec_create(
        trial=trial,
        actor=members["designer"],
        data={
            "size": LARGE_RUN_SUBJECTS,
            "seed": 1,
            "indication": "gbm_newly_diagnosed",
            "regimen": "stupp_rt_tmz",
        },
    )
    return spec


def test_dashboard_of_a_10000_subject_run_is_served_within_budget(
    large_run, stored_run_factory, members, capsys
):
    run = stored_run_factory(large_run, size=LARGE_RUN_SUBJECTS)
    assert run.subjects.count() == LARGE_RUN_SUBJECTS
    client = Client()
    client.force_login(members["designer"])
    url = f"/runs/{run.pk}/dashboard/"
    assert client.get(url).status_code == 200  # warm-up: templates, connections
    server_ms, wall_ms = [], []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        wall_ms.append(1000 * (time.perf_counter() - started))
        assert response.status_code == 200
        server_ms.append(float(re.search(r"dur=([\d.]+)", response["Server-Timing"]).group(1)))
    median_server = statistics.median(server_ms)
    series_ms = []
    for _ in range(REQUESTS):
        series = client.get(f"/runs/{run.pk}/dashboard/series.json")
        assert series.status_code == 200
        series_ms.append(float(re.search(r"dur=([\d.]+)", series["Server-Timing"]).group(1)))
    median_series = statistics.median(series_ms)
    with capsys.disabled():
        print(
            f"\ndashboard, {LARGE_RUN_SUBJECTS} subjects: server median {median_server:.1f} ms "
            f"(min {min(server_ms):.1f}, max {max(server_ms):.1f}); client wall median "
            f"{statistics.median(wall_ms):.1f} ms; page {len(response.content) / 1024:.0f} KiB; "
            f"per-subject series (fetched after the page) server median {median_series:.1f} ms, "
            f"{len(series.content) / 1024:.0f} KiB"
        )
    assert median_server <= SERVER_TIME_BUDGET_MS
    assert median_series <= SERVER_TIME_BUDGET_MS
    assert len(series.content) <= SERIES_MAX_BYTES
