"""A live portal on a loopback port and a real Chromium driven by Playwright.

Browser tests are marked `browser`; they skip where Chromium is not
installed, and fail under CI=true (where .ci/run installs it).
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("HELPDESK_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture
def app(database):
    app = create_app(database.settings, database)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def live_server(app):
    """The portal served by a real HTTP server in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        reason = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request, chromium):
    """A fresh browser page, once at phone width and once at desktop width."""
    context = chromium.new_context(viewport=VIEWPORTS[request.param], locale="id-ID")
    page = context.new_page()
    page.viewport_name = request.param
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Keep a picture of the page as a CI artifact: artifacts/screenshots/NAME-VIEWPORT.png."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{getattr(page, 'viewport_name', 'page')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def world(database):
    """The staff world (tests/portal/staff_world.py) in this test's database."""
    from tests.portal.staff_world import build_world
    return build_world(database)


@pytest.fixture
def client(app):
    """A test client of the portal with CSRF off (CSRF has its own tests)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()
