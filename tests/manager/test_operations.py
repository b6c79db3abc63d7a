"""Operation life cycle: cooperative cancel rolls back, a restart fails what a dead process left
running, requirements jobwerk already satisfies are not reinstalled."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.manager.models import ModuleOperation
from tests.support.api import ADMIN, http_client, running_app
from tests.support.manager import NAME, Catalog, add_repository, operate, wait_operation


async def test_cancel_between_steps_rolls_back(
    api: httpx.AsyncClient, catalog: Catalog, tmp_path: Path
) -> None:
    catalog.publish(NAME, "1.0.0")
    await add_repository(api, catalog.url)
    started = await api.post("/repository/install", json={"module_name": NAME}, headers=ADMIN)
    operation_id = started.json()["operation_id"]
    answer = await api.post(f"/modules/operations/{operation_id}/cancel", headers=ADMIN)
    assert answer.status_code == 200
    assert answer.json() == {
        "success": True,
        "operation_id": operation_id,
        "message": "Cancellation requested",
    }
    done = await wait_operation(api, operation_id)
    assert done["status"] == "cancelled", done
    assert not (tmp_path / "modules" / NAME).exists()
    again = await api.post(f"/modules/operations/{operation_id}/cancel", headers=ADMIN)
    assert again.status_code == 409


async def test_a_restart_fails_operations_left_running(
    app_runtime: Runtime, api_settings: Settings
) -> None:
    async with app_runtime.transaction() as session:
        operation = ModuleOperation(type="install", module=NAME, status="running", steps=[])
        session.add(operation)
    async with running_app(api_settings) as restarted, http_client(restarted) as api:
        data = (await api.get(f"/modules/status/{operation.id}", headers=ADMIN)).json()
    assert data["status"] == "failed" and data["error"].startswith("interrupted")


async def test_requirements_are_checked_against_jobwerk(
    api: httpx.AsyncClient, catalog: Catalog, app: FastAPI
) -> None:
    catalog.publish(NAME, "1.0.0", requires=["jobwerk>=99"])
    catalog.publish(
        "beta", "1.0.0", requires=["httpx>=0.20", 'pywin32>=1; sys_platform == "win32"']
    )
    await add_repository(api, catalog.url)
    refused = await operate(api, "POST", "/repository/install", json={"module_name": NAME})
    assert refused["status"] == "failed" and "needs jobwerk>=99" in refused["error"]
    done = await operate(api, "POST", "/repository/install", json={"module_name": "beta"})
    assert done["status"] == "completed", done["error"]


async def test_an_idempotency_key_replays_the_first_operation(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    catalog.publish(NAME, "1.0.0")
    await add_repository(api, catalog.url)
    headers = {**ADMIN, "Idempotency-Key": "install-acme-1"}
    first = await api.post("/repository/install", json={"module_name": NAME}, headers=headers)
    assert first.status_code == 202
    operation_id = first.json()["operation_id"]
    assert (await wait_operation(api, operation_id))["status"] == "completed"
    again = await api.post("/repository/install", json={"module_name": NAME}, headers=headers)
    assert again.status_code == 202
    assert again.json()["operation_id"] == operation_id
    assert again.json()["status"] == "completed"
    assert again.headers["location"] == f"/modules/status/{operation_id}"
    fresh = await api.post("/repository/install", json={"module_name": NAME}, headers=ADMIN)
    assert fresh.status_code == 409  # without the key it is a new request: already installed
