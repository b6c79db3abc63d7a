"""A dry run changes nothing and foretells the sync after it, whatever came before (hypothesis).

Random sequences of events — JTL stock going back and forth, new and cancelled TEMU orders,
per-order refusals, lost answers (leaving pending stock edits and confirmations), JTL shipping,
real syncs — run against the sandbox over HTTP and a JTL replica, with the `db` and the `rest`
JTL backend.
Then, for the order sync and the inventory sync in turn:

- the dry run leaves jobwerk's TEMU tables, JTL-Wawi and TEMU exactly as they were, so the real
  sync after it behaves as if it had run alone;
- the real sync writes exactly what the dry run listed: the same orders (with `db`, the same XML),
  the same shipment confirmations, cancellations and stock edits.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jobwerk.core.states import SUCCEEDED
from jobwerk.modules.temu.jtl import create_jtl_engine
from jobwerk.modules.temu.jtl_sandbox import JtlRestSandbox, JtlWorkerSimulator
from jobwerk.modules.temu.jtl_sandbox._replica import create_customer
from jobwerk.modules.temu.sandbox import ThreadedServer
from tests.support.api import http_client, make_settings, running_app
from tests.support.preview import import_rows, preview, world_state, written
from tests.support.temu import Shop, add_instance, exports, open_shop, set_jtl_stock, sync

SKUS = 5
Event = tuple[str, int]

SINGLE = ("lose_stock_answer", "lose_confirm_answer", "jtl_ships", "sync_orders", "sync_inventory")
events = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["stock_down", "stock_up", "order"]), st.integers(0, SKUS - 1)),
        st.tuples(st.sampled_from(["cancel", "refuse"]), st.integers(0, 20)),
        st.tuples(st.sampled_from(SINGLE), st.just(0)),
    ),
    max_size=7,
)


@dataclass
class World:
    app: FastAPI
    shop: Shop
    api: httpx.AsyncClient
    rest: bool


@asynccontextmanager
async def world(folder: Path, backend: str) -> AsyncIterator[World]:
    shop = open_shop(folder / "shop", seed=33, orders=8, skus=SKUS)
    settings = make_settings(folder / "jobwerk").model_copy(update={"modules": ["temu"]})
    wawi = ThreadedServer(JtlRestSandbox(shop.jtl_url, api_key="wawi-key").app())
    try:
        async with running_app(settings) as app, http_client(app) as api:
            options: dict[str, Any] = {}
            if backend == "rest":
                wawi.start()
                options = {"jtl_backend": "rest", "jtl_url": None, "jtl_api_key": "wawi-key",
                           "jtl_rest_url": f"{wawi.url}/api/eazybusiness",
                           "jtl_customer_id": _collective_customer(shop)}  # fmt: skip
            await add_instance(app, "Shop", shop.settings(**options))
            yield World(app, shop, api, backend == "rest")
    finally:
        wawi.stop()
        shop.server.stop()


def _collective_customer(shop: Shop) -> int:
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.begin() as conn:
            customer_id, _ = create_customer(conn, email="temu@x.de", first_name="", last_name="T")
    finally:
        engine.dispose()
    return customer_id


async def _apply(w: World, event: Event) -> None:
    kind, value = event
    sandbox = w.shop.sandbox
    skus = list(sandbox.state.skus.values())
    if kind in ("stock_down", "stock_up"):
        sku = skus[value]
        set_jtl_stock(w.shop, sku, max(sku.stock + (-2 if kind == "stock_down" else 2), 0))
    elif kind == "order":
        sandbox.add_order(status=2, sku_ids=[skus[value].sku_id])
    elif kind in ("cancel", "refuse"):
        open_orders = sorted(sn for sn, o in sandbox.state.orders.items() if o.status in (1, 2))
        if open_orders:
            sn = open_orders[value % len(open_orders)]
            if kind == "cancel":
                sandbox.cancel_order(sn)
            else:
                sandbox.refuse_order(sn, "bg.order.shippinginfo.v2.get", 180_020_008, "DPA")
    elif kind == "lose_stock_answer":
        sandbox.inject_fault("response_lost", "bg.local.goods.stock.edit")
    elif kind == "lose_confirm_answer":
        sandbox.inject_fault("response_lost", "bg.logistics.shipment.v2.confirm")
    elif kind == "jtl_ships":
        worker = JtlWorkerSimulator(w.shop.jtl_url)
        try:
            await worker.import_pending()
            await worker.ship()
        finally:
            await worker.close()
    elif kind == "sync_orders":
        await sync(w.api, "orders", days_back=30)
    else:
        await sync(w.api, "inventory", mode="quick")
    sandbox.advance(60)


async def scenario(folder: Path, backend: str, sequence: list[Event]) -> None:
    async with world(folder, backend) as w:
        assert (await sync(w.api, "inventory", mode="full"))["status"] in SUCCEEDED
        for event in sequence:
            await _apply(w, event)
        w.shop.sandbox.clear_faults()
        await _orders_foretold(w)
        await _stock_foretold(w)


async def _orders_foretold(w: World) -> None:
    before = await world_state(w.app, w.shop)
    in_jtl = _rest_orders(w.shop) if w.rest else set()
    dry = await preview(w.api, "orders", days_back=30)
    assert dry["status"] in SUCCEEDED, dry
    assert await world_state(w.app, w.shop) == before, "the dry order sync changed something"

    real = await sync(w.api, "orders", days_back=30)

    assert real["status"] in SUCCEEDED, real
    after = await world_state(w.app, w.shop)
    orders = {o["order"]: o["document"] for o in written(w.app, dry, "jtl_orders")}
    if w.rest:
        assert set(orders) == _rest_orders(w.shop) - in_jtl
    else:
        queued = import_rows(w.shop)
        assert orders == {sn: xml for sn, xml in queued.items() if sn in _new(before, after)}
    assert _tracking(written(w.app, dry, "tracking_calls")) == _confirmed(before, w.shop)
    cancelled = {c["order"] for c in written(w.app, dry, "jtl_cancellations")}
    assert cancelled == _now_cancelled(before, after)


def _new(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """Orders that went to JTL between two states (by jobwerk's own record)."""

    def queued(state: dict[str, Any]) -> set[str]:
        rows = state["jobwerk"]["temu_order"]
        return {r["parent_order_sn"] for r in rows if r["xml_state"] == "queued"}

    return queued(after) - queued(before)


def _rest_orders(shop: Shop) -> set[str]:
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT cExterneAuftragsnummer FROM tAuftrag").scalars()
            return {str(number) for number in rows}
    finally:
        engine.dispose()


def _tracking(calls: list[dict[str, Any]]) -> dict[str, set[str]]:
    return {c["order"]: set(c["tracking_numbers"].split(", ")) for c in calls}


def _confirmed(before: dict[str, Any], shop: Shop) -> dict[str, set[str]]:
    """Tracking numbers TEMU got between two states, by parent order."""
    old = {n for numbers in before["temu"]["shipments"].values() for n in numbers}
    found: dict[str, set[str]] = {}
    for shipments in shop.sandbox.state.shipments.values():
        for s in shipments:
            if s.tracking_number not in old:
                found.setdefault(s.parent_order_sn, set()).add(s.tracking_number)
    return found


def _now_cancelled(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    def cancelled(state: dict[str, Any]) -> set[str]:
        rows = state["jobwerk"]["temu_order"]
        return {r["parent_order_sn"] for r in rows if r["tracking_state"] == "cancelled"}

    return cancelled(after) - cancelled(before)


async def _stock_foretold(w: World) -> None:
    before = await world_state(w.app, w.shop)
    dry = await preview(w.api, "inventory", mode="quick")
    assert dry["status"] in SUCCEEDED, dry
    assert await world_state(w.app, w.shop) == before, "the dry inventory sync changed something"

    real = await sync(w.api, "inventory", mode="quick")

    assert real["status"] in SUCCEEDED, real
    edits = {e["sku_id"]: e["new"] for e in written(w.app, dry, "stock_edits")}
    archive = exports(w.app, real).get("temu-inventory_to_api.jsonl")
    sent: dict[int, int] = {}
    for line in archive.read_text("utf-8").splitlines() if archive else []:
        for item in json.loads(line)["request_params"]["skuStockTargetList"]:
            sent[item["skuId"]] = item["stockTarget"]
    assert edits == sent


def _run(backend: str, sequence: list[Event]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            asyncio.run(scenario(Path(folder), backend, sequence))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nafter {sequence!r} ({backend})") from exc


_SETTINGS = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.timeout(600)
@_SETTINGS
@given(sequence=events)
@example(
    sequence=[("sync_orders", 0), ("jtl_ships", 0), ("lose_confirm_answer", 0), ("sync_orders", 0),
              ("stock_down", 1), ("lose_stock_answer", 0), ("sync_inventory", 0), ("cancel", 0)]
)  # fmt: skip
@example(sequence=[("sync_orders", 0), ("cancel", 0), ("jtl_ships", 0)])  # tracking, cancellation
def test_a_dry_run_changes_nothing_and_foretells_the_sync_with_the_db_backend(
    sequence: list[Event],
) -> None:
    _run("db", sequence)


@pytest.mark.timeout(600)
@_SETTINGS
@given(sequence=events)
@example(sequence=[("sync_orders", 0), ("cancel", 0), ("order", 2), ("jtl_ships", 0)])
def test_a_dry_run_changes_nothing_and_foretells_the_sync_with_the_rest_backend(
    sequence: list[Event],
) -> None:
    _run("rest", sequence)
