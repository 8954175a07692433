"""Browser tests drive Debian's Chromium through Playwright (never a downloaded browser)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

# pytest-django's live_server runs in a thread beside Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Two shared CPU cores also run the worker: parsing Plotly (4.8 MB) can take seconds there.
expect.set_options(timeout=20_000)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "var" / "screenshots"
FRONTEND_DIR = REPO_ROOT / "frontend"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make install` installs Debian's chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-quic",
            "--no-first-run",
            # WebGL2 for NiiVue without a GPU: ANGLE on SwiftShader (software rasteriser).
            "--use-angle=swiftshader",
            "--enable-unsafe-swiftshader",
            "--ignore-gpu-blocklist",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def frontend_bundle() -> None:
    """The pages need the esbuild bundles: build them when a source is newer than the bundle."""
    sources = [p for p in (FRONTEND_DIR / "src").rglob("*") if p.is_file()]
    bundle = FRONTEND_DIR / "dist" / "app.js"
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    if bundle.exists() and bundle.stat().st_mtime >= newest:
        return
    npm = shutil.which("npm")
    if npm is None or not (FRONTEND_DIR / "node_modules").exists():
        pytest.fail("frontend/dist is missing or stale: run `make frontend` (needs npm)")
    subprocess.run([npm, "run", "build"], cwd=FRONTEND_DIR, check=True, capture_output=True)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


# --- Users and sign-in ----------------------------------------------------------------------------

PASSWORDS = {"designer": "designer-password-1", "auditor": "auditor-password-1"}


@pytest.fixture
def members(transactional_db) -> dict:
    """An organisation with a designer and an auditor (usernames ``acme-<role>``)."""
    from accounts.services import member_create, organisation_create

    organisation = organisation_create(name="Acme Oncology")
    return {
        role: member_create(
            organisation=organisation, username=f"acme-{role}", password=password, role=role
        ).user
        for role, password in PASSWORDS.items()
    }


@pytest.fixture
def sign_in():
    """``sign_in(page, base_url, role)``: sign in through the login form, as a person would."""

    def sign_in_as(page, base_url: str, role: str) -> None:  # noqa: ANN001
        page.goto(base_url + "/accounts/login/")
        page.get_by_label("Username").fill(f"acme-{role}")
        page.get_by_label("Password").fill(PASSWORDS[role])
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(base_url + "/trials/")

    return sign_in_as


# --- Timings written down by the tests (docs/dashboard.md quotes them) ---------------------------

TIMINGS_PATH = SCREENSHOT_DIR / "timings.json"


@pytest.fixture(scope="session")
def timings():
    import json

    recorded: dict[str, float] = {}
    yield recorded
    if recorded:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        TIMINGS_PATH.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
