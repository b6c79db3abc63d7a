"""The module manager on PostgreSQL: install, one active operation per module (the partial
unique index), a failing migration undone by its transaction, update and uninstall."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from jobwerk.app import create_app
from jobwerk.core.runtime import Runtime
from tests.api.conftest import ADMIN, http_client, make_settings
from tests.manager._helpers import NAME, add_repository, operate, wait_operation
from tests.manager._modules import Catalog

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_client(
    tmp_path: Path, pg_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    settings = make_settings(tmp_path)
    settings = settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": pg_url})}
    )
    app = create_app(settings)
    context = app.router.lifespan_context(app)
    await context.__aenter__()
    try:
        async with http_client(app) as client:
            yield client, app.state.runtime
    finally:
        await context.__aexit__(None, None, None)


async def test_install_update_and_uninstall_on_postgresql(
    pg_client: tuple[httpx.AsyncClient, Runtime], catalog: Catalog
) -> None:
    client, runtime = pg_client
    catalog.publish(NAME, "1.0.0")
    catalog.publish(NAME, "1.1.0", broken_migration=True)
    await add_repository(client, catalog.url)
    install = {"module_name": NAME, "version": "1.0.0"}
    answers = await asyncio.gather(
        *(client.post("/repository/install", json=install, headers=ADMIN) for _ in range(2))
    )
    assert sorted(answer.status_code for answer in answers) == [202, 409]
    started = next(answer for answer in answers if answer.status_code == 202).json()
    blocked = next(answer for answer in answers if answer.status_code == 409).json()
    assert blocked["operation_id"] == started["operation_id"]
    assert (await wait_operation(client, started["operation_id"]))["status"] == "completed"

    broken = await operate(client, "POST", "/modules/update", json={"module_name": NAME})
    assert broken["status"] == "failed" and "migration failed" in broken["error"]
    async with runtime.db.session() as session:
        notes = [row[0] for row in await session.execute(text(f"SELECT version FROM {NAME}_note"))]
    assert notes == ["1.0.0"]

    catalog.publish(NAME, "2.0.0")
    good = await operate(
        client, "POST", "/modules/update", json={"module_name": NAME, "version": "2.0.0"}
    )
    assert good["status"] == "completed", good["error"]
    gone = await operate(client, "DELETE", f"/repository/uninstall/{NAME}")
    assert gone["status"] == "completed", gone["error"]
