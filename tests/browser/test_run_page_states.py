"""The run page outside the happy path: a queued run waits for a worker and can be cancelled; a
failed run says why in words. Runs are stored directly (no worker is involved)."""

import pytest
from playwright.sync_api import Page, expect

SPEC = {"size": 50, "seed": 3, "indication": "gbm_newly_diagnosed", "regimen": "rt_alone"}


def stored_run(members, **fields):  # noqa: ANN001, ANN003, ANN201
    from runs.models import SimulationRun
    from trials.services import spec_create, trial_create

    designer = members["designer"]
    organisation = designer.memberships.get().organisation
    trial = trial_create(organisation=organisation, actor=designer, name="States")
    spec = spec_create(trial=trial, actor=designer, data=SPEC)
    return SimulationRun.objects.create(
        organisation=organisation,
        trial=trial,
        spec=spec,
        size=50,
        seed=3,
        chunk_size=25,
        chunks_total=2,
        created_by=designer,
        **fields,
    )


@pytest.mark.django_db(transaction=True)
def test_a_queued_run_waits_for_a_worker_and_the_designer_cancels_it(
    page: Page, live_server, members, sign_in, screenshot_dir
):
    run = stored_run(members)
    sign_in(page, live_server.url, "designer")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    expect(page.locator("#run-eta")).to_have_text("waiting for a worker")
    expect(page.locator("#run-done")).to_have_text("0 of 50")
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator("#run-status")).to_have_text("cancelled")
    expect(page.get_by_role("alert")).to_contain_text("The run was cancelled")
    expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
    page.screenshot(path=str(screenshot_dir / "run-cancelled.png"), full_page=True)
    run.refresh_from_db()
    assert run.status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_a_failed_run_says_why_in_words(page: Page, live_server, members, sign_in):
    run = stored_run(
        members, status="failed", chunks_done=1, error="chunk 1 failed 3 times: MemoryError"
    )
    sign_in(page, live_server.url, "designer")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    expect(page.get_by_role("alert")).to_have_text(
        "The run failed: chunk 1 failed 3 times: MemoryError. Its spec is unchanged; "
        "you can launch it again."
    )
    expect(page.get_by_role("progressbar")).to_have_attribute("data-status", "failed")
    expect(page.get_by_role("link", name="Open the cohort dashboard")).to_be_hidden()
    page.goto(f"{live_server.url}/runs/{run.pk}/dashboard/")
    expect(page.get_by_role("status")).to_contain_text("statistics appear once it has succeeded")
