"""A trial designer's whole journey in a real browser, against a real worker:

sign in, design a cohort from a preset (with an inline validation error first), launch it, watch
the progress bar reach 100%, read the Kaplan-Meier plot, and step through a subject's scans.
"""

import io
import time
import zipfile

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page, expect

#: A tiny cohort so the real simulation finishes in seconds on two CPU cores.
COHORT_SIZE = 4
FOLLOW_UP_MONTHS = 6
RUN_TIMEOUT_MS = 150_000
VOLUME_TIMEOUT_MS = 150_000
#: A canvas "shows the brain" when this share of its pixels is clearly brighter than black.
MIN_BRIGHT_FRACTION = 0.02
BRIGHT_LEVEL = 40
#: ... and "changes with the visit" when this share of pixels changed by more than CHANGED_LEVEL.
MIN_CHANGED_FRACTION = 0.002
CHANGED_LEVEL = 24


def bright_fraction(png: bytes) -> float:
    grey = Image.open(io.BytesIO(png)).convert("L")
    histogram = grey.histogram()
    return sum(histogram[BRIGHT_LEVEL:]) / sum(histogram)


def changed_fraction(png_a: bytes, png_b: bytes) -> float:
    """Share of pixels whose grey level differs by more than CHANGED_LEVEL between two shots."""
    a = Image.open(io.BytesIO(png_a)).convert("L")
    b = Image.open(io.BytesIO(png_b)).convert("L").resize(a.size)
    histogram = ImageChops.difference(a, b).histogram()
    return sum(histogram[CHANGED_LEVEL:]) / sum(histogram)


@pytest.mark.django_db(transaction=True)
def test_designer_designs_launches_and_reads_a_cohort(
    page: Page, live_server, members, default_worker, screenshot_dir, timings, sign_in
):
    from trials.services import trial_create

    base = live_server.url
    trial = trial_create(
        organisation=members["designer"].memberships.get().organisation,
        actor=members["designer"],
        name="GBM phase III control arm",
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, base, "designer")
    page.screenshot(path=str(screenshot_dir / "trials.png"), full_page=True)

    # --- Design from a preset; the API's validation errors appear next to the field ----------
    page.get_by_role("link", name=trial.name).click()
    page.get_by_role("link", name="Design a cohort").click()
    expect(page.locator("#designer-form[data-ready=true]")).to_be_visible()
    page.get_by_role("button", name="Stupp RT + temozolomide (newly diagnosed)").click()
    page.get_by_label("Subjects").fill(str(COHORT_SIZE))
    page.get_by_label("Follow-up (months)").fill(str(FOLLOW_UP_MONTHS))
    page.get_by_label("Male", exact=True).fill("0.9")
    expect(page.locator("#err-demographics-sex")).to_contain_text("proportions must sum to 1")
    expect(page.get_by_label("Male", exact=True)).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(screenshot_dir / "designer-error.png"), full_page=True)
    page.get_by_label("Male", exact=True).fill("0.63")
    expect(page.locator("#designer-status")).to_have_text("The spec is valid.")
    expect(page.locator("#err-demographics-sex")).to_be_hidden()
    page.screenshot(path=str(screenshot_dir / "designer.png"), full_page=True)

    # --- Launch and watch the run -----------------------------------------------------------------
    page.get_by_role("button", name="Save and launch").click()
    page.wait_for_url(f"{base}/runs/*/")
    progress = page.get_by_role("progressbar")
    expect(progress).to_have_attribute("aria-valuenow", "100", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#progress-text")).to_have_text("100%")
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.locator("#run-done")).to_have_text(f"{COHORT_SIZE} of {COHORT_SIZE}")
    expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
    page.screenshot(path=str(screenshot_dir / "run.png"), full_page=True)

    # --- Cohort dashboard ------------------------------------------------------------------------
    with page.expect_response(lambda r: r.url.endswith("/dashboard/")) as dashboard_response:
        page.get_by_role("link", name="Open the cohort dashboard").click()
    server_timing = dashboard_response.value.headers["server-timing"]
    timings["dashboard_server_ms_4_subjects"] = float(server_timing.split("dur=")[1])
    km = page.locator("#km-os[data-rendered=true]")
    expect(km).to_be_visible()
    expect(km.locator("svg.main-svg").first).to_be_visible()
    assert km.locator("path.js-line").count() >= 1, "the survival curve is drawn"
    expect(page.locator("#km-os-risk table")).to_contain_text("At risk")
    expect(page.locator("#table-one")).to_contain_text(f"n = {COHORT_SIZE}")
    expect(page.locator("#waterfall-plot .main-svg, #waterfall-plot .empty").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "dashboard.png"), full_page=True)
    page.set_viewport_size({"width": 1024, "height": 768})  # a laptop: nothing overflows
    page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.get_by_label("Subgroup").select_option(index=1)
    expect(page.locator("#subgroup-status")).to_contain_text("against all subjects")
    expect(km.locator(".legend")).to_contain_text("All subjects")
    expect(km.locator(".legend")).to_contain_text(" = ")  # the subgroup's own curve

    # --- Subject viewer: the brain is on the canvas and changes with the visit ---------------------
    page.get_by_role("link", name="Subjects").click()
    page.locator("#subjects-table a").first.click()
    current = page.locator("#nv-current")
    expect(current).to_have_attribute("data-loaded-visit", "0", timeout=VOLUME_TIMEOUT_MS)
    expect(page.locator("#nv-baseline")).to_have_attribute(
        "data-loaded-visit", "0", timeout=VOLUME_TIMEOUT_MS
    )
    cold = page.evaluate("window.viewerTimings")
    timings["viewer_first_since_navigation_ms_cold"] = round(cold["first_since_navigation_ms"])
    page.wait_for_timeout(300)  # one more animation frame after the volume is attached
    first = current.screenshot(path=str(screenshot_dir / "viewer-canvas-baseline.png"))
    assert bright_fraction(first) > MIN_BRIGHT_FRACTION, "the canvas shows the brain"
    visits = page.locator("#timeline .visit")
    assert visits.count() >= 2, "the subject has follow-up visits"
    last_visit = visits.count() - 1
    visits.nth(last_visit).click()
    expect(visits.nth(last_visit)).to_have_attribute("aria-pressed", "true")
    expect(current).not_to_have_attribute("data-loaded-visit", "0", timeout=VOLUME_TIMEOUT_MS)
    page.wait_for_timeout(300)
    later = current.screenshot(path=str(screenshot_dir / "viewer-canvas-later.png"))
    assert bright_fraction(later) > MIN_BRIGHT_FRACTION
    assert changed_fraction(first, later) > MIN_CHANGED_FRACTION, "the image follows the visit"
    page.screenshot(path=str(screenshot_dir / "viewer.png"), full_page=True)
    page.get_by_role("slider", name="Visit").focus()  # the keyboard steps through the visits
    page.keyboard.press("ArrowLeft")
    expect(visits.nth(last_visit - 1)).to_have_attribute("aria-pressed", "true")

    # First volume visible with the volumes cached (the common case after the first look).
    started = time.perf_counter()
    page.reload()
    expect(current).to_have_attribute("data-loaded-visit", "0")
    timings["viewer_first_volume_wall_ms_cached"] = round(1000 * (time.perf_counter() - started))
    for key, value in page.evaluate("window.viewerTimings").items():
        timings[f"viewer_{key}_cached"] = round(value)
    timings["viewer_resources_ms"] = page.evaluate(
        "Object.fromEntries(performance.getEntriesByType('resource').map("
        "e => [e.name.split('/').slice(-4).join('/'), Math.round(e.duration)]))"
    )

    # --- Export the run from the browser and download the archive -------------------------------
    page.get_by_role("link", name="Exports").click()
    page.get_by_label("Visits (comma-separated numbers; empty = all)").fill("0")
    for sequence in ("T1", "T2", "FLAIR"):
        page.get_by_label(sequence, exact=True).uncheck()
    page.get_by_role("button", name="Export").click()
    download_link = page.get_by_role("link", name="Download zip").first
    expect(download_link).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#exports-table .status").first).to_have_text("succeeded")
    page.screenshot(path=str(screenshot_dir / "exports.png"), full_page=True)
    with page.expect_download() as download_info:
        download_link.click()
    archive = zipfile.ZipFile(download_info.value.path())
    names = archive.namelist()
    assert "manifest.json" in names and any(n.endswith("dm.xpt") for n in names)
    assert any(n.endswith("_ce-gadolinium_T1w.nii.gz") for n in names)
    assert not any(n.endswith("_FLAIR.nii.gz") for n in names)

    # --- The launched version is frozen: an edit becomes version 2 and must say why ------------
    page.goto(f"{base}/trials/{trial.pk}/")
    page.get_by_role("link", name="New version from v1").click()
    expect(page.locator("#designer-form[data-ready=true]")).to_be_visible()
    page.get_by_label("Subjects").fill("8")
    page.get_by_role("button", name="Save only").click()
    expect(page.locator("#err-reason")).to_contain_text("a new version needs a reason")
    page.get_by_label("Why this change?").fill("Double the cohort for a steadier median")
    page.get_by_role("button", name="Save only").click()
    expect(page.locator("#designer-status")).to_have_text("Saved as version 2.")
    page.goto(f"{base}/trials/{trial.pk}/")
    expect(page.get_by_role("cell", name="Double the cohort for a steadier median")).to_be_visible()
    assert errors == [], f"no JavaScript errors: {errors}"
