"""Install from a file repository, run the module's workflow, instances, uninstall."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from jobwerk.core import run_service
from jobwerk.core.runtime import Runtime
from tests.support.api import ADMIN, wait_for_run
from tests.support.manager import NAME, Catalog, add_repository, operate


async def test_install_run_instances_and_uninstall(
    api: httpx.AsyncClient, catalog: Catalog, app_runtime: Runtime, app: FastAPI, tmp_path: Path
) -> None:
    catalog.publish(NAME, "1.0.0")
    await add_repository(api, catalog.url)

    listed = (await api.get("/repository/list", headers=ADMIN)).json()
    assert listed[0]["type"] == "file-based"
    assert listed[0]["stats"] == {"total_modules": 1, "installed_modules": 0}

    done = await operate(api, "POST", "/repository/install", json={"module_name": NAME})
    assert done["status"] == "completed", (done["error"], done["steps"])
    assert done["restart_required"] is True
    assert [step["status"] for step in done["steps"]] == ["done"] * 6
    assert (tmp_path / "modules" / NAME / "1.0.0" / f"{NAME}_pkg").is_dir()

    modules = (await api.get("/repository/modules?installed=true", headers=ADMIN)).json()
    assert [m["name"] for m in modules["modules"]] == [NAME]
    assert modules["modules"][0]["status"] == "installed"
    assert modules["categories"] == {"testing": 1}
    for query, total in [
        ("installed=false", 0),
        ("category=testing", 1),
        ("category=shop", 0),
        ("text=ACME", 1),
        ("text=nothing-like-it", 0),
        ("repository=local", 1),
    ]:
        found = (await api.get(f"/repository/modules?{query}", headers=ADMIN)).json()
        assert found["total"] == total, query
    unknown = await api.get("/repository/modules?repository=elsewhere", headers=ADMIN)
    assert unknown.status_code == 404

    async with app_runtime.transaction() as session:
        run = await run_service.enqueue_run(
            session, app_runtime.workflows, f"{NAME}.hello", {"name": "x"}
        )
    finished = await wait_for_run(api, run.id)
    assert finished["status"] == "completed", finished
    async with app_runtime.db.session() as session:
        notes = (await session.execute(text(f"SELECT version FROM {NAME}_note"))).all()
    assert notes == [("1.0.0",)]

    # Settings are validated before anything is queued (shop is required).
    invalid = await api.post(
        "/modules/install-instance", json={"module_name": NAME, "settings": {}}, headers=ADMIN
    )
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"][-1] == "shop"
    # Two instances; the first becomes primary, then the primary switches atomically.
    first = await operate(
        api,
        "POST",
        "/modules/install-instance",
        json={"module_name": NAME, "name": "shop-a", "settings": {"shop": "a", "token": "t0p"}},
    )
    assert first["status"] == "completed", first["error"]
    second = await operate(
        api,
        "POST",
        "/modules/install-instance",
        json={"module_name": NAME, "name": "shop-b", "settings": {"shop": "b"}},
    )
    a_id, b_id = first["instance_id"], second["instance_id"]
    listed = (await api.get("/modules/instances", headers=ADMIN)).json()
    assert listed["total_instances"] == 2 and listed["total_modules"] == 1
    one = (await api.get(f"/modules/instance/{NAME}/{a_id}", headers=ADMIN)).json()
    assert one["is_primary"] is True and one["version"] == "1.0.0"
    assert one["secrets"] == {"token": True} and "t0p" not in str(one)
    # A new instance's jobs wait until the seller enables them.
    assert one["status"] == "stopped" and one["path"] == f"/modules/{NAME}/{a_id}"
    [job_id] = one["jobs"]
    enabled = await api.post(f"/api/jobs/{job_id}/toggle?enabled=true", headers=ADMIN)
    assert enabled.json()["enabled"] is True
    one = (await api.get(f"/modules/instance/{NAME}/{a_id}", headers=ADMIN)).json()
    assert one["status"] == "running"
    assert one["frontend_url"] == f"/{NAME}"
    # Routes of a module installed while running need a restart.
    assert (await api.get(f"/api/{NAME}/version", headers=ADMIN)).status_code == 404
    primary = (await api.get(f"/modules/primary/{NAME}", headers=ADMIN)).json()
    assert primary["primary_instance"]["instance_id"] == a_id

    switched = await operate(api, "POST", f"/modules/primary/{NAME}/{b_id}")
    assert switched["status"] == "completed" and switched["operation_type"] == "set_primary"
    primary = (await api.get(f"/modules/primary/{NAME}", headers=ADMIN)).json()
    assert primary["primary_instance"]["instance_id"] == b_id
    legacy = (await api.get(f"/api/modules/{NAME}", headers=ADMIN)).json()
    assert legacy["instance_id"] == b_id

    edited = await api.patch(
        f"/modules/instance/{NAME}/{a_id}", json={"settings": {"region": "us"}}, headers=ADMIN
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["settings"] == {"shop": "a", "region": "us"}
    assert edited.json()["secrets"] == {"token": True}
    invalid = await api.patch(
        f"/modules/instance/{NAME}/{a_id}", json={"settings": {"region": 5}}, headers=ADMIN
    )
    assert invalid.status_code == 422

    # Uninstall: refused while instances exist, forced removes them; run history stays.
    refused = await api.delete(f"/repository/uninstall/{NAME}", headers=ADMIN)
    assert refused.status_code == 409 and "instance" in refused.json()["detail"]
    async with app_runtime.transaction() as session:
        slow = await run_service.enqueue_run(
            session, app_runtime.workflows, f"{NAME}.hello", {"delay": 30}
        )
    await wait_for_run(api, slow.id, until=("running",))
    refused = await api.delete(f"/repository/uninstall/{NAME}?force=true", headers=ADMIN)
    assert refused.status_code == 409 and "running run" in refused.json()["detail"]
    assert (await api.delete(f"/api/v1/jobs/{slow.id}", headers=ADMIN)).status_code == 200
    await wait_for_run(api, slow.id)
    gone = await operate(api, "DELETE", f"/repository/uninstall/{NAME}?force=true")
    assert gone["status"] == "completed", gone["error"]
    assert not (tmp_path / "modules" / NAME).exists()
    assert f"{NAME}.hello" not in app_runtime.workflows
    assert (await api.get("/modules/instances", headers=ADMIN)).json()["total_instances"] == 0
    kept = await api.get(f"/api/v1/jobs/{run.id}", headers=ADMIN)
    assert kept.status_code == 200
    history = (await api.get(f"/modules/operations?module_name={NAME}", headers=ADMIN)).json()
    assert [op["operation_type"] for op in history["operations"]] == [
        "uninstall",
        "set_primary",
        "install_instance",
        "install_instance",
        "install",
    ]
