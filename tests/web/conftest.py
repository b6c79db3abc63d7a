"""A live jobwerk server on a free port, and Debian's headless chromium driven by Playwright.

The servers run uvicorn in a thread with its own event loop; each serves the whole session.
Each test gets a fresh browser context (no cookies), so every test signs in on its own.

    dashboard_server  the demo module only: a quiet server for the engine's screens (a test
                      module may override it with a server of its own)
    shop_server       every built-in module with the TEMU demo world, as ``jobwerk demo`` starts
    web, phone        a desktop-sized and a phone-sized tab on ``dashboard_server``
    shop_tab          a tab on ``shop_server``, at desktop and at phone size
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.support.web import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FAILED,
    DashboardServer,
    Session,
    close_tab,
    dashboard_settings,
    open_tab,
    serve_dashboard,
)


@pytest.fixture(scope="session")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    """The demo module only: a quiet server for the engine's screens."""
    data_dir = tmp_path_factory.mktemp("web") / "data"
    with serve_dashboard(dashboard_settings(data_dir, ["demo"])) as server:
        yield server


@pytest.fixture(scope="session")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    """Every built-in module with the TEMU demo world (sandbox and JTL replica) behind a primary
    TEMU instance, as ``jobwerk demo`` starts it."""
    from jobwerk.modules.temu.demo import prepare_temu_demo

    settings = dashboard_settings(
        tmp_path_factory.mktemp("shop") / "data", ["demo", "temu", "docs"]
    )
    world = prepare_temu_demo(settings)
    assert world is not None
    try:
        with serve_dashboard(settings) as server:
            yield server
    finally:
        world.stop()


@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    """Playwright's sync API keeps an event loop running in this thread while it is open, so it
    closes with the browser tests' module: async tests collected after them still run."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture
def web(
    browser: Browser, dashboard_server: DashboardServer, request: pytest.FixtureRequest
) -> Iterator[Session]:
    """A desktop-sized tab; the test fails if the page threw a JavaScript error."""
    context, session = open_tab(
        browser,
        dashboard_server,
        viewport={"width": 1280, "height": 900},
        timezone_id="Europe/Berlin",
    )
    yield session
    close_tab(request, context, session)


@pytest.fixture
def phone(
    browser: Browser, dashboard_server: DashboardServer, request: pytest.FixtureRequest
) -> Iterator[Session]:
    """A phone-sized tab (390 × 844, touch)."""
    context, session = open_tab(
        browser,
        dashboard_server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield session
    close_tab(request, context, session)


@pytest.fixture(params=["desktop", "phone"])
def shop_tab(
    browser: Browser, shop_server: DashboardServer, request: pytest.FixtureRequest
) -> Iterator[Session]:
    """A tab on the TEMU-and-docs server, at desktop and at phone size."""
    size = (
        {"viewport": {"width": 1280, "height": 900}}
        if request.param == "desktop"
        else {
            "viewport": {"width": 390, "height": 844},
            "device_scale_factor": 2,
            "is_mobile": True,
            "has_touch": True,
        }
    )
    context, session = open_tab(browser, shop_server, **size)
    session.size = request.param
    yield session
    close_tab(request, context, session)
