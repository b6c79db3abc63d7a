"""A live jobwerk server on a free port, and Debian's headless chromium driven by Playwright.

The server runs uvicorn in a thread with its own event loop; one server serves the whole session.
Each test gets a fresh browser context (no cookies), so every test signs in on its own.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import axe_playwright_python
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from starlette.routing import Mount

from jobwerk.app import create_app
from jobwerk.config import Settings
from jobwerk.core import auth
from jobwerk.core.auth import Role
from jobwerk.core.runtime import Runtime
from jobwerk.web import mount_dashboard

T = TypeVar("T")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AXE = Path(axe_playwright_python.__file__).with_name("axe.min.js")
PASSWORD = "correct horse battery"
USERS = {"admin": Role.ADMIN, "operator": Role.OPERATOR, "viewer": Role.VIEWER}


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    runtime: Runtime
    loop: asyncio.AbstractEventLoop

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (e.g. to use the engine's services)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _dashboard_app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    if not any(isinstance(route, Mount) and route.path == "/static" for route in app.routes):
        mount_dashboard(app)
    return app


async def _create_users(runtime: Runtime) -> None:
    async with runtime.transaction() as session:
        for name, role in USERS.items():
            await auth.create_user(session, name, PASSWORD, role)


@contextmanager
def _serving(settings: Settings) -> Iterator[LiveServer]:
    app = _dashboard_app(settings)
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", ws="websockets-sansio", lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()

    def serve() -> None:
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    live = LiveServer(f"http://127.0.0.1:{port}", app, app.state.runtime, loop)
    live.call(_create_users(live.runtime))
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def _settings(data_dir: Path, modules: list[str]) -> Settings:
    return Settings(
        data_dir=data_dir,
        _env_file=None,
        modules=modules,
        engine={"poll_seconds": 0.05, "heartbeat_seconds": 0.5},
        api={"rate_limit_per_minute": 10_000},
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo module only: a quiet server for the engine's screens."""
    with _serving(_settings(tmp_path_factory.mktemp("web") / "data", ["demo"])) as live:
        yield live


@pytest.fixture(scope="session")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Every built-in module with the TEMU demo world (sandbox and JTL replica) behind a primary
    TEMU instance, as ``jobwerk demo`` starts it."""
    from jobwerk.modules.temu.demo import prepare_temu_demo

    settings = _settings(tmp_path_factory.mktemp("shop") / "data", ["demo", "temu", "docs"])
    world = prepare_temu_demo(settings)
    assert world is not None
    try:
        with _serving(settings) as live:
            yield live
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


@dataclass
class Session:
    """One browser tab on the live server, with the JavaScript errors it raised."""

    page: Page
    server: LiveServer
    errors: list[str] = field(default_factory=list)
    size: str = "desktop"

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.page.goto(self.server.url + "/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def accessibility_violations(self) -> list[str]:
        """axe-core's serious and critical violations on the current page (the engine is
        loaded from the installed package, not from the internet)."""
        self.page.add_script_tag(path=str(AXE))
        found = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in found
            if v["impact"] in ("serious", "critical")
        ]

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _open(browser: Browser, server: LiveServer, **options: Any) -> tuple[BrowserContext, Session]:
    context = browser.new_context(base_url=server.url, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    session = Session(page, server)
    page.on("pageerror", lambda error: session.errors.append(str(error)))
    return context, session


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


def _close(request: pytest.FixtureRequest, context: BrowserContext, session: Session) -> None:
    if request.node.stash.get(FAILED, False):
        session.screenshot(f"failed-{request.node.name}")
    context.close()
    assert session.errors == []


@pytest.fixture
def web(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Session]:
    """A desktop-sized tab; the test fails if the page threw a JavaScript error."""
    context, session = _open(
        browser, live_server, viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin"
    )
    yield session
    _close(request, context, session)


@pytest.fixture
def phone(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Session]:
    """A phone-sized tab (390 × 844, touch)."""
    context, session = _open(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield session
    _close(request, context, session)


@pytest.fixture(params=["desktop", "phone"])
def shop(
    browser: Browser, shop_server: LiveServer, request: pytest.FixtureRequest
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
    context, session = _open(browser, shop_server, **size)
    session.size = request.param
    yield session
    _close(request, context, session)
