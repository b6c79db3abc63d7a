"""``/api/temu/...`` (seed 002): health, info, stats and triggers, primary or any instance."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from jobwerk.core.states import SUCCEEDED
from tests.support.api import ADMIN, key_headers, wait_for_run
from tests.support.temu import (
    Shop,
    add_instance,
    open_shop,
    sync_orders,
)

AMOUNT_API = "bg.order.amount.query"


async def test_viewer_reads_operator_triggers(
    api: httpx.AsyncClient, instance: str, keys: dict[str, str]
) -> None:
    viewer, operator = key_headers(keys["viewer"]), key_headers(keys["operator"])
    for path in ("info", "stats", "health"):
        assert (await api.get(f"/api/temu/{path}", headers=viewer)).status_code == 200, path
    assert (await api.get("/api/temu/info")).status_code == 401
    for path in ("orders/sync", "inventory/sync"):
        assert (await api.post(f"/api/temu/{path}", headers=viewer)).status_code == 403

    answer = await api.post("/api/temu/inventory/sync?mode=full", headers=operator)

    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status_url"] == f"/api/v1/jobs/{body['run_id']}"
    assert body["job_id"] == "sync_inventory"
    assert body["instance_id"] == instance
    assert body["params"]["mode"] == "full"
    run = await wait_for_run(api, body["run_id"])
    assert run["status"] in SUCCEEDED, run


async def test_info_lists_workflows_steps_parameters_and_jobs(
    api: httpx.AsyncClient, instance: str
) -> None:
    info = (await api.get("/api/temu/info", headers=ADMIN)).json()

    workflows = {w["name"]: w for w in info["workflows"]}
    assert [s["name"] for s in workflows["temu.sync_orders"]["steps"]] == [
        "api_to_json",
        "json_to_db",
        "db_to_xml",
        "jtl_to_tracking",
        "tracking_to_api",
    ]
    assert [s["name"] for s in workflows["temu.sync_inventory"]["steps"]] == [
        "api_to_json",
        "json_to_db",
        "jtl_to_inventory",
        "inventory_to_api",
    ]
    orders_schema = workflows["temu.sync_orders"]["params_schema"]["properties"]
    assert {"days_back", "parent_order_status", "verbose"} <= set(orders_schema)
    jobs = workflows["temu.sync_orders"]["jobs"]
    assert jobs[0]["id"] == "sync_orders"
    assert jobs[0]["interval_minutes"] == 30
    assert workflows["temu.sync_inventory"]["jobs"][0]["interval_minutes"] == 60
    assert workflows["temu.sync_inventory"]["jobs"][0]["params"] == {"mode": "quick"}
    assert info["instance"] == {"id": instance, "name": "Shop A", "is_primary": True}


async def test_stats_after_a_sync(api: httpx.AsyncClient, shop: Shop, instance: str) -> None:
    run = await sync_orders(api)
    assert run["status"] in SUCCEEDED

    stats = (await api.get("/api/temu/stats", headers=ADMIN)).json()["stats"]

    assert stats["orders"]["total"] == len(shop.sandbox.state.orders)
    assert {"status": 2, "name": "to ship", "count": len(shop.to_ship())} in stats["orders"][
        "by_status"
    ]
    assert stats["jtl_import"]["queued"] == len(shop.to_ship())
    assert stats["inventory"] == {"total": 0, "needs_sync": 0}
    assert stats["last_successful_sync"]["temu.sync_orders"] is not None
    assert stats["token_expires_at"] is not None

    # The JTL XML is listed and served by the core's exports, with only the temu module loaded.
    meta = (await api.get(f"/api/v1/exports/{run['id']}/metadata", headers=ADMIN)).json()
    xml = next(file for file in meta["files"] if file["name"].endswith(".xml"))
    download = await api.get(xml["download_url"], headers=ADMIN)
    assert download.status_code == 200 and download.text.lstrip().startswith("<?xml")


async def test_health_reports_token_and_jtl(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, tmp_path: Path
) -> None:
    good = await add_instance(app, "Good", shop.settings())
    shop.sandbox.grant_scope(AMOUNT_API)
    shop.sandbox.add_token("expired-token", expired=True)
    missing = tmp_path / "missing" / "db.sqlite"
    bad = await add_instance(
        app, "Bad", shop.settings(access_token="expired-token", jtl_url=f"sqlite:///{missing}")
    )

    healthy = (await api.get("/api/temu/health", headers=ADMIN)).json()
    broken = (await api.get(f"/api/temu/instances/{bad}/health", headers=ADMIN)).json()

    assert healthy["status"] == "ok", healthy
    assert healthy["instance"]["id"] == good
    assert healthy["checks"]["temu"]["token_valid"] is True
    assert healthy["checks"]["temu"]["token_expires_at"]
    assert healthy["checks"]["jtl"]["status"] == "ok"
    assert healthy["checks"]["scopes"] == {
        "status": "ok", "missing": [], "message": "all APIs the workflows use granted",
    }  # fmt: skip
    assert broken["status"] == "error"
    assert broken["checks"]["temu"]["token_valid"] is False
    assert broken["checks"]["jtl"]["status"] == "error"
    assert "sandbox-access-token" not in str(broken) and "expired-token" not in str(broken)
    # The platform's readiness shows the primary instance's checks: in full with credentials,
    # only their status without (the route is public).
    system = (await api.get("/api/v1/system/health", headers=ADMIN)).json()
    assert system["dependencies"]["temu"]["token_valid"] is True
    assert system["dependencies"]["jtl"]["status"] == "ok"
    anonymous = (await api.get("/api/v1/system/health")).json()["dependencies"]
    assert anonymous["temu"] == {"status": "ok"} and anonymous["jtl"] == {"status": "ok"}


async def test_health_names_a_missing_optional_scope_as_a_warning(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    shop.sandbox.grant_scope(AMOUNT_API, False)

    health = (await api.get("/api/temu/health", headers=ADMIN)).json()

    assert health["status"] == "warning", health
    scopes = health["checks"]["scopes"]
    assert scopes["status"] == "warning"
    [missing] = scopes["missing"]
    assert (missing["api"], missing["workflow"], missing["required"]) == (
        AMOUNT_API, "sync_orders", False,
    )  # fmt: skip
    assert "degrades" in missing["effect"] and "SKU list or JTL" in missing["effect"]
    assert "business manager" in missing["grant"] and "Seller Center" in missing["grant"]
    assert AMOUNT_API in scopes["message"]
    system = (await api.get("/api/v1/system/health", headers=ADMIN)).json()
    assert system["dependencies"]["scopes"]["missing"][0]["api"] == AMOUNT_API


async def test_health_names_a_missing_required_scope_as_an_error(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    shop.sandbox.grant_scope(AMOUNT_API)
    shop.sandbox.grant_scope("bg.local.goods.stock.edit", False)

    health = (await api.get(f"/api/temu/instances/{instance}/health", headers=ADMIN)).json()

    assert health["status"] == "error", health
    [missing] = health["checks"]["scopes"]["missing"]
    assert (missing["api"], missing["workflow"], missing["required"]) == (
        "bg.local.goods.stock.edit", "sync_inventory", True,
    )  # fmt: skip
    assert missing["effect"] == "sync_inventory fails: no stock is sent"
    assert "business manager" not in missing["grant"] and "re-authorize" in missing["grant"]
    anonymous = (await api.get("/api/v1/system/health")).json()["dependencies"]
    assert anonymous["scopes"] == {"status": "error"}


async def test_instance_scoped_trigger_uses_that_instances_job(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str, tmp_path: Path
) -> None:
    other = open_shop(tmp_path / "b", seed=3, orders=6)
    try:
        second = await add_instance(app, "Zweiter Shop", other.settings())
        answer = await api.post(
            f"/api/temu/instances/{second}/orders/sync?days_back=30&parent_order_status=2",
            headers=ADMIN,
        )
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert body["job_id"] == "sync_orders_zweiter_shop"
        assert body["params"]["parent_order_status"] == 2
        run = await wait_for_run(api, body["run_id"])
        assert run["status"] in SUCCEEDED, run
        assert run["instance_id"] == second
        stats = (await api.get(f"/api/temu/instances/{second}/stats", headers=ADMIN)).json()
        assert {entry["name"] for entry in stats["stats"]["orders"]["by_status"]} <= {"to ship"}
    finally:
        other.server.stop()


async def test_errors(api: httpx.AsyncClient, app: FastAPI, shop: Shop) -> None:
    assert (await api.get("/api/temu/info", headers=ADMIN)).status_code == 404
    unknown = "0" * 32
    assert (await api.get(f"/api/temu/instances/{unknown}/stats", headers=ADMIN)).status_code == 404
    await add_instance(app, "Shop A", shop.settings())

    bad_mode = await api.post("/api/temu/inventory/sync?mode=fast", headers=ADMIN)
    bad_status = await api.post("/api/temu/orders/sync?parent_order_status=7", headers=ADMIN)
    bad_days = await api.post("/api/temu/orders/sync?days_back=0", headers=ADMIN)

    assert bad_mode.status_code == bad_status.status_code == bad_days.status_code == 422
    misspelt = await api.post("/api/temu/orders/sync?day_back=3", headers=ADMIN)
    assert misspelt.status_code == 422
    assert "'day_back' (did you mean 'days_back'?)" in misspelt.json()["message"]
