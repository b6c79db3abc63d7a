"""The dashboard as browser tests use it: a jobwerk server in a thread with users of every role,
and browser tabs on it that collect the page's JavaScript errors."""

from __future__ import annotations

import asyncio
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
from playwright.sync_api import Browser, BrowserContext, Page
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
class DashboardServer:
    """A jobwerk server with its dashboard, running uvicorn in a thread on its own loop."""

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
def serve_dashboard(settings: Settings) -> Iterator[DashboardServer]:
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
    live = DashboardServer(f"http://127.0.0.1:{port}", app, app.state.runtime, loop)
    live.call(_create_users(live.runtime))
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def dashboard_settings(data_dir: Path, modules: list[str]) -> Settings:
    return Settings(
        data_dir=data_dir,
        _env_file=None,
        modules=modules,
        engine={"poll_seconds": 0.05, "heartbeat_seconds": 0.5},
        api={"rate_limit_per_minute": 10_000},
    )


@dataclass
class Session:
    """One browser tab on the live server, with the JavaScript errors it raised."""

    page: Page
    server: DashboardServer
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


def open_tab(
    browser: Browser, server: DashboardServer, **options: Any
) -> tuple[BrowserContext, Session]:
    """A fresh browser context (no cookies) with one tab on ``server``."""
    context = browser.new_context(base_url=server.url, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    session = Session(page, server)
    page.on("pageerror", lambda error: session.errors.append(str(error)))
    return context, session


FAILED = pytest.StashKey[bool]()  # set by the web conftest's report hook


def close_tab(request: pytest.FixtureRequest, context: BrowserContext, session: Session) -> None:
    """Close the tab, with a screenshot when the test failed; the page threw no JavaScript error."""
    if request.node.stash.get(FAILED, False):
        session.screenshot(f"failed-{request.node.name}")
    context.close()
    assert session.errors == []
