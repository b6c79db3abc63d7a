"""Shared fixtures: settings in a temporary data folder, and the database on SQLite and PostgreSQL.

PostgreSQL tests use a fresh database per test on the local server. Outside CI they skip with a
message when no server answers; with ``CI=true`` they must run.
"""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.logging import configure_logging
from jobwerk.modules.demo import module as demo_module

PG_ADMIN = os.environ.get("JOBWERK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    available = _pg_available()
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
    instance.workflows.register(demo_module.workflows()[0])
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
