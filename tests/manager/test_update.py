"""Update keeps the previous version; broken updates (failing import, failing migration) roll
back to the working version; rollback switches back; a restart activates the new version."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from jobwerk.config import Settings
from jobwerk.core import run_service
from jobwerk.core.runtime import Runtime
from tests.support.api import ADMIN, http_client, running_app, runtime_of, wait_for_run
from tests.support.manager import NAME, Catalog, add_repository, operate, wait_operation


async def _run_hello(client: httpx.AsyncClient, runtime: Runtime) -> str:
    async with runtime.transaction() as session:
        run = await run_service.enqueue_run(session, runtime.workflows, f"{NAME}.hello")
    finished = await wait_for_run(client, run.id)
    assert finished["status"] == "completed", finished
    version: str = finished["result"]["version"]
    return version


async def _tables(runtime: Runtime) -> set[str]:
    async with runtime.db.session() as session:
        rows = await session.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
    return {row[0] for row in rows}


async def test_update_rollback_and_broken_updates(
    api: httpx.AsyncClient,
    catalog: Catalog,
    app_runtime: Runtime,
    api_settings: Settings,
    tmp_path: Path,
) -> None:
    catalog.publish(NAME, "1.0.0")
    await add_repository(api, catalog.url)
    assert (await operate(api, "POST", "/repository/install", json={"module_name": NAME}))[
        "status"
    ] == "completed"
    assert await _run_hello(api, app_runtime) == "1.0.0"
    folder = tmp_path / "modules" / NAME

    # A broken import in 1.1.0: refused in the child process, nothing switched.
    catalog.publish(NAME, "1.1.0", broken_import=True)
    broken = await operate(api, "POST", "/modules/update", json={"module_name": NAME})
    assert broken["status"] == "failed" and broken["rolled_back"] is False  # nothing switched
    assert "import check failed" in broken["error"] and "broken on purpose" in broken["error"]
    assert not (folder / "1.1.0").exists()
    assert await _run_hello(api, app_runtime) == "1.0.0"

    # A failing migration in 1.2.0: its transaction is undone, nothing switched.
    catalog.publish(NAME, "1.2.0", broken_migration=True)
    broken = await operate(
        api, "POST", "/modules/update", json={"module_name": NAME, "version": "1.2.0"}
    )
    assert broken["status"] == "failed" and "migration failed" in broken["error"]
    async with app_runtime.db.session() as session:
        notes = [row[0] for row in await session.execute(text(f"SELECT version FROM {NAME}_note"))]
    assert notes == ["1.0.0"]
    assert not (folder / "1.2.0").exists()
    modules = (await api.get("/api/modules", headers=ADMIN)).json()["modules"]
    acme = next(module for module in modules if module["name"] == NAME)
    assert acme["version"] == "1.0.0" and acme["source"] == "installed"

    # A good update to 2.0.0 (picked explicitly: 1.1.0 and 1.2.0 are newer than 1.0.0 but broken).
    catalog.publish(NAME, "2.0.0")
    good = await operate(
        api, "POST", "/modules/update", json={"module_name": NAME, "version": "2.0.0"}
    )
    assert good["status"] == "completed", good["error"]
    assert good["restart_required"] is True
    assert [step["id"] for step in good["steps"]][4] == "backup"
    # One backup per update attempt (two broken ones, this one); the last three are kept.
    assert len(list((folder / "backups").glob(f"{NAME}-1.0.0-*.db"))) == 3
    assert (folder / "1.0.0").is_dir() and (folder / "2.0.0").is_dir()
    await _restarted_runs(api_settings, "2.0.0", app_runtime)

    # Rollback to 1.0.0 and back on the next start.
    back = await operate(api, "POST", f"/modules/rollback/{NAME}")
    assert back["status"] == "completed", back["error"]
    await _restarted_runs(api_settings, "1.0.0", app_runtime)
    modules = (await api.get("/api/modules", headers=ADMIN)).json()["modules"]
    acme = next(module for module in modules if module["name"] == NAME)
    assert acme["previous_version"] == "2.0.0"


async def _restarted_runs(settings: Settings, expected: str, previous: Runtime) -> None:
    """A new app on the same data folder (a restart) runs the active version.

    The previous app's executor stops meanwhile: after a real restart the old process is gone,
    and here it would otherwise claim the new app's runs with the old code.
    """
    await previous.executor.stop()
    try:
        async with running_app(settings) as restarted, http_client(restarted) as api:
            assert await _run_hello(api, runtime_of(restarted)) == expected
            # The module's routes are mounted at start.
            answer = await api.get(f"/api/{NAME}/version", headers=ADMIN)
            assert answer.json() == {"version": expected}
    finally:
        await previous.executor.start()


async def test_two_operations_on_one_module_conflict(
    api: httpx.AsyncClient, catalog: Catalog, app: FastAPI
) -> None:
    catalog.publish(NAME, "1.0.0")
    await add_repository(api, catalog.url)
    first = await api.post("/repository/install", json={"module_name": NAME}, headers=ADMIN)
    second = await api.post("/repository/install", json={"module_name": NAME}, headers=ADMIN)
    assert first.status_code == 202
    assert second.status_code == 409, second.text
    assert second.json()["operation_id"] == first.json()["operation_id"]
    assert (await wait_operation(api, first.json()["operation_id"]))["status"] == "completed"
