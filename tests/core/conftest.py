"""Engine tests run on SQLite, on PostgreSQL, and on PostgreSQL with the Procrastinate executor;
the test workflows are registered on the ``runtime`` fixture."""

from __future__ import annotations

import pytest

from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from tests.support.engine import TEST_WORKFLOWS


@pytest.fixture(params=["sqlite", "postgresql", "procrastinate"])
def db_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{settings.data_dir.parent / 'jobwerk.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    executor = "procrastinate" if request.param == "procrastinate" else "local"
    return settings.model_copy(
        update={
            "database": settings.database.model_copy(update={"url": url}),
            "engine": settings.engine.model_copy(update={"executor": executor}),
        }
    )


@pytest.fixture(autouse=True)
def _register(request: pytest.FixtureRequest) -> None:
    if "runtime" in request.fixturenames:
        runtime: Runtime = request.getfixturevalue("runtime")
        for workflow in TEST_WORKFLOWS:
            runtime.workflows.register(workflow)
