"""The API as tests use it: keys, settings for a test app, an in-process client, run polling
and a real uvicorn server in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from jobwerk.app import create_app
from jobwerk.config import ApiSettings, EngineSettings, Settings
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import FINISHED

STATIC_KEY = "static-admin-key-for-tests"
STOP_SECONDS = 10


def key_headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


ADMIN = key_headers(STATIC_KEY)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_settings(tmp_path: Any, **api: Any) -> Settings:
    """Settings on a temporary data folder: demo module only, the static admin key, no
    scheduler, a generous rate limit; ``api`` overrides API settings."""
    options: dict[str, Any] = {
        "key": STATIC_KEY,
        "rate_limit_per_minute": 100_000,
        "ws_heartbeat_seconds": 0.5,
        **api,
    }
    return Settings(
        data_dir=tmp_path,
        modules=["demo"],
        api=ApiSettings(**options),
        engine=EngineSettings(poll_seconds=0.2, scheduler=False),
    )


def http_client(app: FastAPI) -> httpx.AsyncClient:
    """An httpx client talking to ``app`` in-process."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app for ``settings`` with its lifespan running (engine, scheduler, hub, metrics).

    A shutdown that hangs fails after ``STOP_SECONDS`` and prints every task's stack.
    """
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        yield app
    finally:
        try:
            await asyncio.wait_for(lifespan.__aexit__(None, None, None), STOP_SECONDS)
        except TimeoutError:
            for task in asyncio.all_tasks():
                task.print_stack()
            raise


def runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


async def trigger(api: httpx.AsyncClient, **params: Any) -> str:
    """Start the demo job now (two items, no delay unless given); returns the run id."""
    answer = await api.post(
        "/api/jobs/demo_example/run-now", json={"items": 2, "delay": 0, **params}, headers=ADMIN
    )
    assert answer.status_code == 202, answer.text
    run_id: str = answer.json()["run_id"]
    return run_id


async def wait_for_run(
    api: httpx.AsyncClient,
    run_id: str,
    *,
    until: tuple[str, ...] = tuple(FINISHED),
    seconds: float = 60,
) -> dict[str, Any]:
    """Poll a run until it reaches one of ``until`` (tests only; the API itself pushes)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        run: dict[str, Any] = (await api.get(f"/api/v1/jobs/{run_id}", headers=ADMIN)).json()
        if run["status"] in until:
            return run
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run stayed {run['status']}")
        await asyncio.sleep(0.05)


async def login(api: httpx.AsyncClient, role: str = "operator") -> dict[str, str]:
    """Create a user with ``role`` and sign in; the client keeps the session cookie."""
    created = await api.post(
        "/api/v1/auth/users",
        json={"username": f"ann-{role}", "password": "correct horse", "role": role},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    answer = await api.post(
        "/api/v1/auth/login", json={"username": f"ann-{role}", "password": "correct horse"}
    )
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    body: dict[str, str] = answer.json()
    return body


@asynccontextmanager
async def serving(app: FastAPI, **options: Any) -> AsyncIterator[uvicorn.Server]:
    """Run a real uvicorn server for ``app`` (whose lifespan already runs) in this loop."""
    config = uvicorn.Config(
        app, lifespan="off", log_config=None, access_log=False, ws="websockets-sansio", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
