"""A user in two organisations switches between them from the page header, by keyboard, and
sees each organisation's trials with the role they hold there."""

import pytest
from playwright.sync_api import Page, expect


@pytest.mark.django_db(transaction=True)
def test_a_designer_here_and_auditor_there_switches_in_the_header(
    page: Page, live_server, members, screenshot_dir
):
    from accounts.services import member_create, membership_set, organisation_create
    from audit.models import AuditEvent
    from trials.services import trial_create

    acme = members["designer"].memberships.get().organisation
    rival = organisation_create(name="Rival Pharma")
    user = member_create(
        organisation=acme, username="two-hats", password="two-hats-password", role="designer"
    ).user
    membership_set(user=user, organisation=rival, role="auditor")
    trial_create(organisation=acme, actor=user, name="Acme arm")
    trial_create(organisation=rival, actor=None, name="Rival arm")

    base = live_server.url
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill("two-hats")
    page.get_by_label("Password").fill("two-hats-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "/trials/")

    switcher = page.get_by_label("Organisation")
    expect(switcher).to_have_value(str(acme.pk))
    expect(page.get_by_role("link", name="Acme arm")).to_be_visible()
    expect(page.get_by_role("link", name="Rival arm")).to_have_count(0)
    expect(page.get_by_role("button", name="Create trial")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "organisation-switcher.png"), full_page=False)

    switcher.focus()
    switcher.select_option(str(rival.pk))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the Switch button, reached by keyboard
    expect(page).to_have_url(base + "/trials/")
    expect(page.get_by_label("Organisation")).to_have_value(str(rival.pk))
    expect(page.get_by_role("link", name="Rival arm")).to_be_visible()
    expect(page.get_by_role("link", name="Acme arm")).to_have_count(0)
    expect(page.locator('header [data-role="auditor"]')).to_have_text("Auditor (read-only)")
    expect(page.get_by_role("button", name="Create trial")).to_have_count(0)
    assert AuditEvent.objects.filter(
        organisation=rival, actor=user, reason="organisation switch"
    ).exists()
    assert errors == [], f"no JavaScript errors: {errors}"
