"""The TEMU workflows end to end over HTTP: the app, a served TEMU sandbox and a JTL replica."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from jobwerk.core.instances import get_instance, update_settings
from jobwerk.core.states import SUCCEEDED
from jobwerk.modules.temu import module as temu_module
from jobwerk.modules.temu.jtl import JtlDatabase, JtlUnavailable, QueueResult, create_jtl_engine
from jobwerk.modules.temu.jtl_sandbox import JtlRestSandbox
from jobwerk.modules.temu.jtl_sandbox._replica import create_customer
from jobwerk.modules.temu.models import TemuInventory, TemuOrder, TemuShipment
from jobwerk.modules.temu.sandbox import ThreadedServer
from jobwerk.modules.temu.workflows import _jtl
from tests.support.api import ADMIN, runtime_of, wait_for_run
from tests.support.temu import (
    TO_SHIP,
    Shop,
    add_instance,
    count_rows,
    counts,
    exports,
    jtl_queued,
    open_shop,
    set_jtl_stock,
    sync,
    sync_orders,
    worker_ships,
)

# -- orders -----------------------------------------------------------------------------


async def test_orders_flow_to_jtl_and_tracking_back_to_temu(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    to_ship = shop.to_ship()
    assert to_ship, "the seeded shop has orders to ship"

    first = await sync_orders(api)

    assert first["status"] in SUCCEEDED, first
    assert counts(first)["queued"] == len(to_ship)
    assert await jtl_queued(shop) == set(to_ship)
    assert await count_rows(app, TemuOrder) == len(shop.sandbox.state.orders)
    files = exports(app, first)
    xml = files["jtl-orders.xml"].read_bytes()
    assert all(sn.encode() in xml for sn in to_ship)
    archive = [
        json.loads(line) for line in files["temu-api_to_json.jsonl"].read_text().splitlines()
    ]
    assert {"bg.order.list.v2.get", "bg.order.shippinginfo.v2.get"} <= {
        r["api_type"] for r in archive
    }
    assert "sandbox-access-token" not in files["temu-api_to_json.jsonl"].read_text()
    assert any("amount query not permitted" in w for w in first["result"]["warnings"])

    assert await worker_ships(shop) == len(to_ship)
    second = await sync_orders(api)

    assert second["status"] in SUCCEEDED, second
    assert counts(second)["queued"] == 0
    assert counts(second)["confirmed"] == len(to_ship)
    for sn in to_ship:
        assert shop.sandbox.order(sn).status == 4  # type: ignore[union-attr]
    assert await count_rows(app, TemuShipment, state="confirmed") >= len(to_ship)

    requests_before = shop.sandbox.request_count
    third = await sync_orders(api)

    assert third["status"] in SUCCEEDED
    assert counts(third).get("confirmed", 0) == 0
    assert counts(third).get("queued", 0) == 0
    assert "temu-tracking_to_api.jsonl" not in exports(app, third)
    # Only the order list is read again: nothing left to fetch, queue or confirm.
    assert shop.sandbox.request_count - requests_before == 1


async def test_later_syncs_read_changed_orders_and_pick_up_orders_that_left_pending(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    first = await sync_orders(api)
    pending = [o.parent_order_sn for o in shop.sandbox.state.orders.values() if o.status == 1]
    assert pending, "the seeded shop has pending orders"
    assert counts(first)["orders_listed"] == len(shop.sandbox.state.orders)
    shop.sandbox.advance(3 * 3600)

    second = await sync_orders(api)

    assert second["status"] in SUCCEEDED, second
    assert counts(second)["orders_listed"] == len(pending)
    assert counts(second)["queued"] == len(pending)
    assert await jtl_queued(shop) == set(shop.to_ship())

    full = await sync(api, "orders", days_back=30, full=True)
    assert counts(full)["orders_listed"] == len(shop.sandbox.state.orders)
    assert counts(full).get("queued", 0) == 0


async def test_an_order_cancelled_after_it_went_to_jtl_is_flagged_once(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    await sync_orders(api)
    cancelled = sorted(await jtl_queued(shop))[0]
    shop.sandbox.cancel_order(cancelled)

    run = await sync_orders(api)

    assert run["status"] in SUCCEEDED, run
    assert counts(run)["cancelled_after_import"] == 1
    assert counts(run).get("cancelled_in_jtl", 0) == 0  # the import table cannot cancel
    assert any(
        cancelled in warning and "cancel it in JTL-Wawi" in warning
        for warning in run["result"]["warnings"]
    )
    again = await sync(api, "orders", days_back=30, full=True)
    assert counts(again).get("cancelled_after_import", 0) == 0
    assert not [w for w in again["result"].get("warnings", []) if cancelled in w]


async def test_a_confirmation_that_may_have_reached_temu_is_checked_not_resent(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    await sync_orders(api)
    await worker_ships(shop)
    shop.sandbox.inject_fault("response_lost", "bg.logistics.shipment.v2.confirm", count=1)

    run = await sync_orders(api)

    assert run["status"] in SUCCEEDED, run
    archive = exports(app, run)["temu-tracking_to_api.jsonl"].read_text().splitlines()
    records = [json.loads(line) for line in archive]
    confirms = [r for r in records if r["api_type"] == "bg.logistics.shipment.v2.confirm"]
    checks = [r for r in records if r["api_type"] == "bg.logistics.shipment.v2.get"]
    assert confirms
    assert checks, "the ambiguous confirmation was verified with get_shipments"
    assert counts(run)["confirmed"] + counts(run)["already_at_temu"] >= 1
    assert await count_rows(app, TemuShipment, state="sending") == 0
    assert not [o for o in shop.sandbox.state.orders.values() if o.status == TO_SHIP]


async def test_an_unknown_carrier_is_reported_never_guessed(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    await sync_orders(api)
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE tversandart SET cName = 'Kurier Müller'")
    finally:
        engine.dispose()
    await worker_ships(shop)

    run = await sync_orders(api)

    assert run["status"] == "completed_with_warnings", run
    assert counts(run)["unmapped"] == len(shop.to_ship())
    assert counts(run).get("confirmed", 0) == 0
    assert any("'Kurier Müller'" in w and "override" in w for w in run["result"]["warnings"])
    records = exports(app, run)["temu-tracking_to_api.jsonl"].read_text().splitlines()
    sent = {json.loads(line)["api_type"] for line in records}
    assert "bg.logistics.shipment.v2.confirm" not in sent
    assert await count_rows(app, TemuShipment, state="new") >= len(shop.to_ship())


async def test_transient_temu_faults_are_retried_and_archived(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    shop.sandbox.inject_fault("rate_limit", "bg.order.list.v2.get", count=1)
    shop.sandbox.inject_fault("malformed", "bg.order.shippinginfo.v2.get", count=1)

    run = await sync_orders(api)

    assert run["status"] in SUCCEEDED, run
    archive = exports(app, run)["temu-api_to_json.jsonl"].read_text()
    records = [json.loads(line) for line in archive.splitlines()]
    assert sum(1 for r in records if r["error"]) >= 2
    assert counts(run)["queued"] == len(shop.to_ship())


async def test_persistent_temu_failure_is_a_clear_step_error_and_retry_recovers(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    shop.sandbox.inject_fault("system_error", "bg.order.list.v2.get", count=100)

    failed = await sync_orders(api)

    assert failed["status"] == "failed"
    assert failed["error"].startswith("api_to_json: TEMU:")
    assert "gave up after 3 attempts" in failed["error"]
    assert await count_rows(app, TemuOrder) == 0
    shop.sandbox.clear_faults()

    answer = await api.post(f"/api/v1/jobs/{failed['id']}/retry", headers=ADMIN)
    assert answer.status_code == 202, answer.text
    retried = await wait_for_run(api, answer.json()["id"])

    assert retried["status"] in SUCCEEDED, retried
    assert await jtl_queued(shop) == set(shop.to_ship())


async def test_an_expired_token_is_a_clear_error_without_retries(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop
) -> None:
    shop.sandbox.add_token("expired-token", expired=True)
    await add_instance(app, "Shop A", shop.settings(access_token="expired-token"))

    failed = await sync_orders(api)

    assert failed["status"] == "failed"
    assert failed["error"].startswith("api_to_json: TEMU refused the call:")
    assert "gave up" not in failed["error"]
    assert "expired-token" not in failed["error"]


async def test_jtl_unreachable_mid_run_keeps_data_consistent_and_retry_completes(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-folder" / "eazybusiness.db"
    instance_id = await add_instance(app, "Shop A", shop.settings(jtl_url=f"sqlite:///{missing}"))

    failed = await sync_orders(api)

    assert failed["status"] == "failed"
    assert failed["error"].startswith("db_to_xml: JTL database unavailable")
    assert await count_rows(app, TemuOrder, xml_state="queued") == 0
    assert await count_rows(app, TemuOrder, xml_state="pending") == len(shop.sandbox.state.orders)

    runtime = runtime_of(app)
    async with runtime.transaction() as session:
        instance = await get_instance(session, instance_id)
        await update_settings(
            session, runtime.box, instance, temu_module.settings_model, {"jtl_url": shop.jtl_url}
        )
    answer = await api.post(f"/api/v1/jobs/{failed['id']}/retry", headers=ADMIN)
    retried = await wait_for_run(api, answer.json()["id"])

    assert retried["status"] in SUCCEEDED, retried
    assert "orders_listed" not in counts(retried), "the completed TEMU steps were not repeated"
    assert await jtl_queued(shop) == set(shop.to_ship())
    assert await count_rows(app, TemuOrder, xml_state="queued") == len(shop.to_ship())


async def test_jtl_lost_between_batches_keeps_both_sides_in_step(
    app: FastAPI,
    api: httpx.AsyncClient,
    shop: Shop,
    instance: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = JtlDatabase.queue_orders_xml
    calls = 0

    async def flaky(self: JtlDatabase, documents: list[tuple[str, bytes]]) -> list[QueueResult]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise JtlUnavailable("JTL database unavailable: connection reset by peer")
        return await real(self, documents)

    monkeypatch.setattr(_jtl, "BATCH", 3)  # the first batch of 3 gets through, the next fails
    monkeypatch.setattr(JtlDatabase, "queue_orders_xml", flaky)

    failed = await sync_orders(api)

    assert failed["status"] == "failed"
    assert failed["error"] == (
        "db_to_xml: JTL database unavailable: connection reset by peer (gave up after 3 attempts)"
    )
    assert len(await jtl_queued(shop)) == 3
    assert await count_rows(app, TemuOrder, xml_state="queued") == 3
    monkeypatch.setattr(JtlDatabase, "queue_orders_xml", real)

    answer = await api.post(f"/api/v1/jobs/{failed['id']}/retry", headers=ADMIN)
    retried = await wait_for_run(api, answer.json()["id"])

    assert retried["status"] in SUCCEEDED, retried
    assert counts(retried)["queued"] == len(shop.to_ship()) - 3
    assert counts(retried).get("already_in_jtl", 0) == 0
    assert await jtl_queued(shop) == set(shop.to_ship())


async def test_orders_and_stock_flow_through_the_jtl_rest_api(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop
) -> None:
    engine = create_jtl_engine(shop.jtl_url)
    with engine.begin() as conn:
        customer_id, _ = create_customer(conn, email="temu@x.de", first_name="", last_name="TEMU")
    engine.dispose()
    wawi = JtlRestSandbox(shop.jtl_url, api_key="wawi-key")
    with ThreadedServer(wawi.app()) as server:
        rest = {
            "jtl_backend": "rest",
            "jtl_url": None,
            "jtl_rest_url": f"{server.url}/api/eazybusiness",
            "jtl_api_key": "wawi-key",
            "jtl_customer_id": customer_id,
        }
        await add_instance(app, "Shop A over REST", shop.settings(**rest))
        to_ship = shop.to_ship()

        first = await sync_orders(api)

        assert first["status"] in SUCCEEDED, first
        assert counts(first)["queued"] == len(to_ship)
        assert await jtl_queued(shop) == set(to_ship)  # the orders themselves, no import rows
        cancelled, *shipped = sorted(to_ship)
        shop.sandbox.cancel_order(cancelled)  # at TEMU, after JTL took it
        second = await sync_orders(api)
        assert counts(second)["cancelled_in_jtl"] == 1, second
        async with JtlDatabase.from_url(shop.jtl_url) as jtl:
            assert (await jtl.order_import_status([cancelled]))[cancelled].cancelled

        assert await worker_ships(shop) == len(shipped)  # JTL does not ship the cancelled one
        third = await sync_orders(api)
        assert counts(third)["confirmed"] == len(shipped)
        assert {shop.sandbox.order(sn).status for sn in shipped} == {4}  # type: ignore[union-attr]

        stock = await sync(api, "inventory", mode="full")
        assert stock["status"] in SUCCEEDED, stock
        assert counts(stock)["stock_edits"] > 0
        assert wawi.requests > 0
    wawi.close()


async def test_two_instances_side_by_side(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str, tmp_path: Path
) -> None:
    other = open_shop(tmp_path / "shop-b", seed=9, orders=10)
    try:
        second = await add_instance(app, "Shop B", other.settings())
        jobs = {job["job_id"] for job in (await api.get("/api/jobs", headers=ADMIN)).json()}
        assert {
            "sync_orders",
            "sync_inventory",
            "sync_orders_shop_b",
            "sync_inventory_shop_b",
        } <= jobs

        run_a = await sync_orders(api)
        run_b = await sync_orders(api, second)

        assert run_a["status"] == run_b["status"] in SUCCEEDED
        assert run_b["job_id"] == "sync_orders_shop_b"
        assert await jtl_queued(shop) == set(shop.to_ship())
        assert await jtl_queued(other) == set(other.to_ship())
        assert await count_rows(app, TemuOrder, instance_id=instance) == len(
            shop.sandbox.state.orders
        )
        assert await count_rows(app, TemuOrder, instance_id=second) == len(
            other.sandbox.state.orders
        )
    finally:
        other.server.stop()


# -- inventory --------------------------------------------------------------------------


def _changed_goods(shop: Shop) -> set[int]:
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT a.cArtNr, l.fVerfuegbar FROM tArtikel a JOIN tlagerbestand l "
                "ON l.kArtikel = a.kArtikel"
            ).all()
    finally:
        engine.dispose()
    stock = {sku: int(available) for sku, available in rows}
    return {
        sku.goods_id
        for sku in shop.sandbox.state.skus.values()
        if stock.get(sku.sku_sn) not in (None, sku.stock)
    }


async def test_inventory_full_then_quick_sends_only_differences(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    changed = _changed_goods(shop)
    assert changed

    full = await sync(api, "inventory", mode="full")

    assert full["status"] in SUCCEEDED, full
    assert counts(full)["stock_edits"] == len(changed)
    assert _changed_goods(shop) == set()
    assert await count_rows(app, TemuInventory, needs_sync=True) == 0

    again = await sync(api, "inventory", mode="quick")
    assert again["status"] in SUCCEEDED
    assert counts(again).get("stock_edits", 0) == 0
    assert "temu-api_to_json.jsonl" not in exports(app, again)

    sku = next(iter(shop.sandbox.state.skus.values()))
    set_jtl_stock(shop, sku, sku.stock + 3)
    quick = await sync(api, "inventory")

    assert quick["status"] in SUCCEEDED, quick
    assert counts(quick)["stock_edits"] == 1
    assert shop.sandbox.state.skus[sku.sku_id].stock == sku.stock


async def test_first_quick_sync_reads_the_sku_list_once(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    changed = _changed_goods(shop)

    run = await sync(api, "inventory")

    assert run["status"] in SUCCEEDED, run
    assert counts(run)["skus_listed"] == len(shop.sandbox.state.skus)
    assert counts(run)["stock_edits"] == len(changed)


async def test_stock_edit_failure_keeps_the_delta_for_the_next_run(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    shop.sandbox.inject_fault("system_error", "bg.local.goods.stock.edit", count=100)

    failed = await sync(api, "inventory", mode="full")

    assert failed["status"] == "failed"
    assert failed["error"].startswith("inventory_to_api: TEMU:")
    pending = await count_rows(app, TemuInventory, needs_sync=True)
    assert pending > 0
    shop.sandbox.clear_faults()

    answer = await api.post(f"/api/v1/jobs/{failed['id']}/retry", headers=ADMIN)
    retried = await wait_for_run(api, answer.json()["id"])

    assert retried["status"] in SUCCEEDED, retried
    assert await count_rows(app, TemuInventory, needs_sync=True) == 0
    assert _changed_goods(shop) == set()
