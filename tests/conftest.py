"""Fixtures shared by every folder; helpers live in ``tests.support``.

    settings, db_settings  Settings in a temporary data folder; on SQLite and on PostgreSQL
    pg_url, database_url   a fresh PostgreSQL database; the same test on SQLite and PostgreSQL
    runtime                a started engine on ``db_settings`` with the demo module
    api_settings           Settings of ``app``: demo module only, static admin key (override it)
    app, app_runtime       the app with its lifespan running, and the runtime inside it
    api                    an httpx client talking to ``app`` in-process
    keys                   {"viewer": key, "operator": key, "admin": key} created over the API
    live_server            ``host:port`` of a real uvicorn server for ``app`` (for WebSockets)
    catalog                a module catalog folder to publish test wheels into
    data_dir               the CLI's data folder (the environment points the CLI at it)
    server_log             logging as the server configures it; call it for what was written

PostgreSQL tests use a fresh database per test on the local server. Outside CI they skip with a
message when no server answers; with ``CI=true`` they must run. What a test installs into this
process (a module's package on ``sys.path``) is gone after it.
"""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.logging import configure_logging
from jobwerk.modules.demo import module as demo_module
from jobwerk.modules.registry import register_module
from tests.support.api import (
    ADMIN,
    free_port,
    http_client,
    make_settings,
    running_app,
    runtime_of,
    serving,
)
from tests.support.isolation import installs_undone
from tests.support.manager import Catalog

PG_ADMIN = os.environ.get("JOBWERK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            available = True
    except psycopg.OperationalError:
        available = False
    if not available and os.environ.get("CI") == "true":
        pytest.fail("PostgreSQL does not answer at 127.0.0.1:5432, and CI requires it")
    return available


@pytest.fixture
def pg_url(pg_available: bool) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    if not pg_available:
        pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432 (set CI=true to require it)")
    name = f"jobwerk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'jobwerk.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        _env_file=None,
        engine={"poll_seconds": 0.05, "heartbeat_seconds": 0.5},
    )


@pytest.fixture
def db_settings(settings: Settings, database_url: str) -> Settings:
    """Settings on SQLite and on PostgreSQL (a parametrized fixture)."""
    return settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": database_url})}
    )


@pytest.fixture
async def runtime(db_settings: Settings) -> AsyncIterator[Runtime]:
    """A started runtime (executor, no scheduler) with the demo workflow registered."""
    instance = Runtime(db_settings)
    register_module(instance, "demo", demo_module)
    await instance.start(scheduler=False)
    yield instance
    await instance.stop()


@pytest.fixture(params=["console", "json"])
def server_log(request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    """Logging configured as the server does, in both formats at DEBUG; call the returned
    function for what was written since the last call."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("DEBUG", request.param, buffer)

    def written() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield written
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _installs_undone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A module a test installs from its data folder does not shadow the same package that a later
    test installs from another one."""
    with installs_undone(tmp_path_factory.getbasetemp()):
        yield


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def app(api_settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(api_settings) as application:
        yield application


@pytest.fixture
def app_runtime(app: FastAPI) -> Runtime:
    return runtime_of(app)


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as client:
        yield client


@pytest.fixture
async def keys(api: httpx.AsyncClient) -> dict[str, str]:
    created = {}
    for role in ("viewer", "operator", "admin"):
        answer = await api.post(
            "/api/v1/auth/keys", json={"name": f"test-{role}", "role": role}, headers=ADMIN
        )
        assert answer.status_code == 201, answer.text
        created[role] = answer.json()["key"]
    return created


@pytest.fixture
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """``host:port`` of a real uvicorn server for ``app`` on a free loopback port."""
    port = free_port()
    async with serving(app, host="127.0.0.1", port=port):
        yield f"127.0.0.1:{port}"


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog")


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """``tmp_path/data``, where the CLI keeps its data; ``tmp_path`` is the working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOBWERK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"
