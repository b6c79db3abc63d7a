"""Dry runs of the TEMU workflows over HTTP (the app, a served sandbox, a JTL replica): a preview
changes nothing anywhere and lists exactly what the sync after it writes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from jobwerk.config import DatabaseSettings
from jobwerk.core.states import SUCCEEDED
from jobwerk.modules.temu import store
from jobwerk.modules.temu.sandbox import Sku
from jobwerk.modules.temu.workflows._preview import FOLDER, LISTED
from jobwerk.storage.db import Database
from jobwerk.storage.models import Instance, Run
from tests.support.api import (
    ADMIN,
    http_client,
    make_settings,
    running_app,
    runtime_of,
    wait_for_run,
)
from tests.support.preview import import_rows, preview, run_row, world_state, written
from tests.support.temu import (
    Shop,
    add_instance,
    counts,
    exports,
    set_jtl_stock,
    sync,
    sync_orders,
    worker_ships,
)


async def jtl_stock_raised(api: httpx.AsyncClient, shop: Shop, count: int) -> list[Sku]:
    """After a full inventory sync: JTL's stock of the first ``count`` SKUs raised by 1, 2, …"""
    await sync(api, "inventory", mode="full")
    skus = list(shop.sandbox.state.skus.values())[:count]
    for offset, sku in enumerate(skus, 1):
        set_jtl_stock(shop, sku, sku.stock + offset)
    return skus


async def test_an_order_preview_changes_nothing_and_lists_the_orders_with_their_xml(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    before = await world_state(app, shop)

    run = await preview(api, "orders", days_back=30)

    assert run["status"] in SUCCEEDED, run
    assert await world_state(app, shop) == before
    assert (await run_row(app, run["id"])).job_id is None  # no run of the job
    to_ship = set(shop.to_ship())
    orders = written(app, run, "jtl_orders")
    assert {o["order"] for o in orders} == to_ship
    assert run["result"]["dry_run"]["jtl_orders"] == len(to_ship)
    listed = run["result"]["preview_jtl_orders"]
    assert len(listed) == min(len(to_ship), LISTED["jtl_orders"])
    assert all(o["format"] == "xml" and "<tBestellungen>" in o["document"] for o in listed)
    assert not list((runtime_of(app).settings.data_dir / FOLDER).glob("*.sqlite"))

    real = await sync_orders(api)

    assert counts(real)["queued"] == len(to_ship)
    queued = import_rows(shop)
    assert {o["order"]: o["document"] for o in orders} == queued


async def test_a_stock_preview_lists_each_edit_old_to_new_and_the_sync_sends_just_those(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    skus = await jtl_stock_raised(api, shop, 3)
    before = await world_state(app, shop)

    run = await preview(api, "inventory", mode="quick")

    assert run["status"] in SUCCEEDED, run
    assert await world_state(app, shop) == before
    edits = {e["sku_id"]: (e["old"], e["new"]) for e in written(app, run, "stock_edits")}
    assert edits == {s.sku_id: (s.stock, s.stock + i) for i, s in enumerate(skus, 1)}
    assert run["result"]["preview_stock_edits"][0]["sku"] == skus[0].sku_sn

    real = await sync(api, "inventory", mode="quick")

    assert counts(real)["skus_updated"] == len(edits)
    assert {s.sku_id: s.stock for s in skus} == {k: new for k, (_, new) in edits.items()}


async def test_a_watch_preview_looks_once_and_lists_the_edits_the_watch_then_sends(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    skus = await jtl_stock_raised(api, shop, 2)
    before = await world_state(app, shop)

    answer = await api.post(f"/api/temu/instances/{instance}/stock-watch/preview", headers=ADMIN)
    assert answer.status_code == 202, answer.text
    run = await wait_for_run(api, answer.json()["run_id"])

    assert run["status"] in SUCCEEDED, run
    assert run["params"]["dry_run"] is True
    assert (await run_row(app, run["id"])).job_id is None
    assert await world_state(app, shop) == before
    edits = {e["sku_id"]: (e["old"], e["new"]) for e in written(app, run, "stock_edits")}
    assert edits == {s.sku_id: (s.stock, s.stock + i) for i, s in enumerate(skus, 1)}

    real = await sync(api, "inventory", mode="quick")

    assert counts(real)["skus_updated"] == len(edits)
    assert {s.sku_id: s.stock for s in skus} == {k: new for k, (_, new) in edits.items()}


async def test_a_tracking_preview_lists_the_confirmations_and_sends_none(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    await sync_orders(api)
    assert await worker_ships(shop)
    before = await world_state(app, shop)

    run = await preview(api, "orders", days_back=30)

    assert run["status"] in SUCCEEDED, run
    assert await world_state(app, shop) == before
    calls = written(app, run, "tracking_calls")
    assert {c["order"] for c in calls} == set(shop.to_ship())
    assert all(c["request"]["sendRequestList"][0]["trackingNumber"] for c in calls)
    assert "request" not in run["result"]["preview_tracking_calls"][0]

    real = await sync_orders(api)

    assert counts(real)["confirmed"] == len(calls)
    confirmed: dict[str, set[str]] = {}
    for found in shop.sandbox.state.shipments.values():
        for shipment in found:
            confirmed.setdefault(shipment.parent_order_sn, set()).add(shipment.tracking_number)
    assert {c["order"]: confirmed[c["order"]] for c in calls} == {
        c["order"]: set(c["tracking_numbers"].split(", ")) for c in calls
    }


async def test_a_preview_is_no_sync_in_the_stats_and_runs_while_the_job_is_disabled(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    toggled = await api.post("/api/jobs/sync_orders/toggle", json={"enabled": False}, headers=ADMIN)
    assert toggled.status_code == 200, toggled.text

    run = await preview(api, "orders", days_back=30)

    assert run["status"] in SUCCEEDED, run
    stats = (await api.get("/api/temu/stats", headers=ADMIN)).json()["stats"]
    assert "temu.sync_orders" not in stats["last_successful_sync"]
    assert run["params"]["dry_run"] is True and run["params"]["days_back"] == 30
    assert "preview-jtl-orders.json" in exports(app, run)


async def test_a_dry_run_never_counts_as_the_last_successful_sync(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()
    synced, previewed = datetime(2026, 1, 5, 10, tzinfo=UTC), datetime(2026, 1, 5, 11, tzinfo=UTC)
    try:
        async with db.write() as session:
            instance = Instance(module="temu", name="Shop")
            session.add(instance)
            await session.flush()
            for params, finished in (({}, synced), ({"dry_run": True}, previewed)):
                session.add(
                    Run(workflow="temu.sync_orders", status="completed", params=params,
                        instance_id=instance.id, trigger="api", finished_at=finished)
                )  # fmt: skip
        async with db.read() as session:
            found = await store.last_successful_runs(session, instance.id)
    finally:
        await db.dispose()
    assert found == {"temu.sync_orders": synced.isoformat()}


async def test_a_preview_on_postgresql_copies_the_shop_and_changes_nothing(
    pg_url: str, tmp_path: Path, shop: Shop
) -> None:
    settings = make_settings(tmp_path / "pg").model_copy(
        update={"modules": ["temu"], "database": DatabaseSettings(url=pg_url)}
    )
    async with running_app(settings) as app, http_client(app) as api:
        await add_instance(app, "Shop", shop.settings())
        assert (await sync_orders(api))["status"] in SUCCEEDED
        new = shop.sandbox.add_order(status=2)
        before = await world_state(app, shop)

        run = await preview(api, "orders", days_back=30)

        assert run["status"] in SUCCEEDED, run
        assert await world_state(app, shop) == before
        assert [o["order"] for o in written(app, run, "jtl_orders")] == [new.parent_order_sn]
        assert counts(run)["orders_updated"] > 0  # the stored orders were in the copy
