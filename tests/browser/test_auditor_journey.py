"""An auditor reads the bias tab and the audit trail of a real run, downloads the trail as CSV,
and is refused every change, in the browser and through the API the pages use."""

import csv
import io
import time

import pytest
from playwright.sync_api import Page, expect

COHORT = {
    "size": 4,
    "seed": 7,
    "indication": "gbm_newly_diagnosed",
    "regimen": "rt_alone",
    "follow_up_months": 6,
}
RUN_TIMEOUT_S = 150


def launch_and_wait(members) -> tuple:
    """The designer's run, launched through the services and finished by the real worker."""
    from runs.models import SimulationRun
    from runs.services import run_launch
    from trials.services import spec_create, trial_create

    designer = members["designer"]
    trial = trial_create(
        organisation=designer.memberships.get().organisation,
        actor=designer,
        name="Audited control arm",
    )
    spec = spec_create(trial=trial, actor=designer, data=COHORT, reason="First design")
    run = run_launch(spec=spec, actor=designer)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = SimulationRun.objects.get(pk=run.pk)
        if run.is_terminal:
            break
        time.sleep(0.5)
    assert run.status == "succeeded", f"run {run.status}: {run.error}"
    return trial, run


@pytest.mark.django_db(transaction=True)
def test_auditor_reviews_bias_and_audit_trail_and_cannot_change_anything(
    page: Page, live_server, members, default_worker, screenshot_dir, sign_in
):
    trial, run = launch_and_wait(members)
    base = live_server.url
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, base, "auditor")
    expect(page.get_by_text("Auditor (read-only)")).to_be_visible()
    expect(page.get_by_role("button", name="Create trial")).to_have_count(0)

    # --- Bias tab -------------------------------------------------------------------------------
    page.get_by_role("link", name=trial.name).click()
    expect(page.get_by_role("link", name="Design a cohort")).to_have_count(0)
    page.get_by_role("link", name="Bias").click()
    love = page.locator("#love-plot[data-rendered=true]")
    expect(love).to_be_visible()
    expect(love.locator(".shapelayer path")).to_have_count(3)  # zero and the ±0.1 thresholds
    flags = page.locator("#bias-flags")
    expect(flags).to_be_visible()
    bias_rows = run.statistics.data["bias"]["rows"]
    flagged = [row for row in bias_rows if row["flagged"]]
    if flagged:
        expect(flags.locator("li")).to_have_count(len(flagged))
        expect(flags.locator("li").first).to_contain_text("standardised mean difference")
    expect(page.locator("#bias-table tbody tr")).to_have_count(len(bias_rows))
    expect(page.locator("#subgroup-plot .main-svg").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "bias.png"), full_page=True)

    # --- Audit log: filters and the CSV ---------------------------------------------------------
    page.get_by_role("link", name="Audit log").click()
    table = page.locator("#audit-table")
    expect(table).to_contain_text("launch")
    expect(table).to_contain_text("create")
    page.get_by_label("Action").select_option("launch")
    page.get_by_role("button", name="Filter").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / "audit.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(open(download_info.value.path(), encoding="utf-8").read())))
    assert rows[0][:4] == ["id", "created_at", "actor_username", "action"]
    assert [row[3] for row in rows[1:]] == ["launch"]

    # --- Every change is refused ----------------------------------------------------------------
    page.goto(f"{base}/runs/{run.pk}/")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    page.goto(f"{base}/trials/{trial.pk}/design/")
    expect(page.get_by_test_id("refusal")).to_have_text(
        "Your role (auditor) can read but not change anything."
    )
    page.screenshot(path=str(screenshot_dir / "refused.png"), full_page=True)
    answer = page.evaluate(
        """async (trial) => {
        const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
        const response = await fetch(`/api/v1/trials/${trial}/`, {method: "PATCH",
            headers: {"Content-Type": "application/json", "X-CSRFToken": token},
            body: JSON.stringify({name: "Renamed by an auditor"})});
        return {status: response.status, body: await response.json()};
    }""",
        trial.pk,
    )
    assert answer["status"] == 403
    assert (
        answer["body"]["error"]["message"]
        == "Your role (auditor) can read but not change anything."
    )
    trial.refresh_from_db()
    assert trial.name == "Audited control arm"

    page.get_by_role("link", name="Exports").click()
    expect(page.get_by_role("heading", name="Exports", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="New export")).to_have_count(0)  # read-only role
    page.screenshot(path=str(screenshot_dir / "auditor-exports.png"), full_page=True)
    assert errors == [], f"no JavaScript errors: {errors}"
