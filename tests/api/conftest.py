"""Fixtures for API tests: a started app, an HTTP client, API keys per role and a live server.

Reusable elsewhere:
    api_settings  Settings on a temporary data folder, demo module only, static admin key
    app           the app with its lifespan running (engine, scheduler, hub, metrics)
    client        an httpx client talking to ``app`` in-process
    keys          {"viewer": key, "operator": key, "admin": key} created over the API
    live_server   ``host:port`` of a real uvicorn server for ``app`` (for WebSockets)
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from jobwerk.app import create_app
from jobwerk.config import ApiSettings, EngineSettings, Settings
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import FINISHED

STATIC_KEY = "static-admin-key-for-tests"


def key_headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


ADMIN = key_headers(STATIC_KEY)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_settings(tmp_path: Any, **api: Any) -> Settings:
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


@pytest.fixture
def api_settings(tmp_path: Any) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def app(api_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(api_settings)
    cm = application.router.lifespan_context(application)
    await cm.__aenter__()
    yield application
    try:
        await asyncio.wait_for(cm.__aexit__(None, None, None), 5)
    except TimeoutError:
        for t in asyncio.all_tasks():
            t.print_stack()
        raise


@pytest.fixture
def runtime(app: FastAPI) -> Runtime:
    value: Runtime = app.state.runtime
    return value


def http_client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as value:
        yield value


@pytest.fixture
async def keys(client: httpx.AsyncClient) -> dict[str, str]:
    created = {}
    for role in ("viewer", "operator", "admin"):
        answer = await client.post(
            "/api/v1/auth/keys", json={"name": f"test-{role}", "role": role}, headers=ADMIN
        )
        assert answer.status_code == 201, answer.text
        created[role] = answer.json()["key"]
    return created


async def wait_for_run(
    client: httpx.AsyncClient,
    run_id: str,
    *,
    until: tuple[str, ...] = tuple(FINISHED),
    seconds: float = 20,
) -> dict[str, Any]:
    """Poll a run until it reaches one of ``until`` (tests only; the API itself pushes)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        run: dict[str, Any] = (await client.get(f"/api/v1/jobs/{run_id}", headers=ADMIN)).json()
        if run["status"] in until:
            return run
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run stayed {run['status']}")
        await asyncio.sleep(0.05)


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


@pytest.fixture
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """``host:port`` of a real uvicorn server for ``app`` on a free loopback port."""
    port = free_port()
    async with serving(app, host="127.0.0.1", port=port):
        yield f"127.0.0.1:{port}"
