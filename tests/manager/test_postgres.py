"""The module manager on PostgreSQL: install, one active operation per module (the partial
unique index), a failing migration undone by its transaction, update and uninstall."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from tests.support.api import ADMIN, make_settings
from tests.support.manager import NAME, Catalog, add_repository, operate, wait_operation

pytestmark = pytest.mark.postgres


@pytest.fixture
def api_settings(tmp_path: Path, pg_url: str) -> Settings:
    settings = make_settings(tmp_path)
    return settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": pg_url})}
    )


async def test_install_update_and_uninstall_on_postgresql(
    api: httpx.AsyncClient, app_runtime: Runtime, catalog: Catalog
) -> None:
    catalog.publish(NAME, "1.0.0")
    catalog.publish(NAME, "1.1.0", broken_migration=True)
    await add_repository(api, catalog.url)
    install = {"module_name": NAME, "version": "1.0.0"}
    answers = await asyncio.gather(
        *(api.post("/repository/install", json=install, headers=ADMIN) for _ in range(2))
    )
    assert sorted(answer.status_code for answer in answers) == [202, 409]
    started = next(answer for answer in answers if answer.status_code == 202).json()
    blocked = next(answer for answer in answers if answer.status_code == 409).json()
    assert blocked["operation_id"] == started["operation_id"]
    assert (await wait_operation(api, started["operation_id"]))["status"] == "completed"

    broken = await operate(api, "POST", "/modules/update", json={"module_name": NAME})
    assert broken["status"] == "failed" and "migration failed" in broken["error"]
    async with app_runtime.db.session() as session:
        notes = [row[0] for row in await session.execute(text(f"SELECT version FROM {NAME}_note"))]
    assert notes == ["1.0.0"]

    catalog.publish(NAME, "2.0.0")
    good = await operate(
        api, "POST", "/modules/update", json={"module_name": NAME, "version": "2.0.0"}
    )
    assert good["status"] == "completed", good["error"]
    gone = await operate(api, "DELETE", f"/repository/uninstall/{NAME}")
    assert gone["status"] == "completed", gone["error"]
