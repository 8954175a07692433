import pytest
from playwright.sync_api import Page, expect


@pytest.mark.django_db(transaction=True)
def test_home_page_renders_with_bundled_assets(page: Page, live_server, screenshot_dir):
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    response = page.goto(live_server.url + "/")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text("Synthetic control arms")
    assert page.evaluate("document.documentElement.classList.contains('js')"), "app.js ran"
    assert failed == [], f"assets failed to load: {failed}"
    page.screenshot(path=str(screenshot_dir / "home.png"), full_page=True)
