"""Stock at TEMU equals JTL's sellable stock after every inventory sync, whatever the history."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from jobwerk.core.states import SUCCEEDED
from jobwerk.modules.temu.jtl import create_jtl_engine
from jobwerk.modules.temu.models import TemuInventory
from jobwerk.modules.temu.sandbox import Sku
from jobwerk.modules.temu.workflows._push import Push, attempt_key
from tests.support.api import ADMIN, wait_for_run
from tests.support.temu import (
    Shop,
    count_rows,
    counts,
    set_jtl_stock,
    sync,
    sync_orders,
    worker_ships,
)


def jtl_available(shop: Shop, sku: Sku) -> int:
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.connect() as conn:
            value = conn.exec_driver_sql(
                "SELECT l.fVerfuegbar FROM tArtikel a JOIN tlagerbestand l "
                "ON l.kArtikel = a.kArtikel WHERE a.cArtNr = ?",
                (sku.sku_sn,),
            ).scalar_one()
    finally:
        engine.dispose()
    return int(value)


def held_at_temu(shop: Shop, sku: Sku) -> int:
    """Units of the SKU in TEMU orders (pending or to ship) that are no JTL order yet."""
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.connect() as conn:
            in_jtl = set(
                conn.exec_driver_sql("SELECT cExterneAuftragsnummer FROM tAuftrag").scalars()
            )
    finally:
        engine.dispose()
    return sum(
        line.quantity
        for order in shop.sandbox.state.orders.values()
        if order.status in (1, 2) and order.parent_order_sn not in in_jtl
        for line in order.lines
        if line.sku.sku_id == sku.sku_id and line.status in (1, 2)
    )


def stocked_sku(shop: Shop) -> Sku:
    return next(s for s in shop.sandbox.state.skus.values() if s.stock > 5)


async def test_a_change_that_repeats_an_earlier_one_still_reaches_temu(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    sku = stocked_sku(shop)
    start = sku.stock
    assert (await sync(api, "inventory", mode="full"))["status"] in SUCCEEDED

    for quantity in (start - 3, start, start - 3, start, start - 3):
        set_jtl_stock(shop, sku, quantity)
        run = await sync(api, "inventory")
        assert run["status"] in SUCCEEDED, run
        assert shop.sandbox.state.skus[sku.sku_id].stock == quantity


async def test_a_lost_answer_is_retried_under_its_own_key_and_counted_once(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    sku = stocked_sku(shop)
    assert (await sync(api, "inventory", mode="full"))["status"] in SUCCEEDED
    set_jtl_stock(shop, sku, sku.stock - 2)
    # More lost answers than the client and the step retry: the run fails, outcome unknown.
    shop.sandbox.inject_fault("response_lost", "bg.local.goods.stock.edit", count=20)

    failed = await sync(api, "inventory")
    assert failed["status"] == "failed", failed
    assert shop.sandbox.state.skus[sku.sku_id].stock == sku.stock  # applied, answers lost
    assert await count_rows(app, TemuInventory, needs_sync=True) == 1
    shop.sandbox.clear_faults()

    answer = await api.post(f"/api/v1/jobs/{failed['id']}/retry", headers=ADMIN)
    retried = await wait_for_run(api, answer.json()["id"])

    assert retried["status"] in SUCCEEDED, retried
    assert counts(retried)["skus_updated"] == 1
    assert await count_rows(app, TemuInventory, needs_sync=True) == 0


async def test_a_lost_answer_followed_by_a_change_back_is_sent_again(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    sku = stocked_sku(shop)
    start = sku.stock
    assert (await sync(api, "inventory", mode="full"))["status"] in SUCCEEDED
    set_jtl_stock(shop, sku, start - 3)
    shop.sandbox.inject_fault("response_lost", "bg.local.goods.stock.edit", count=20)
    assert (await sync(api, "inventory"))["status"] == "failed"
    shop.sandbox.clear_faults()
    set_jtl_stock(shop, sku, start)  # back to what jobwerk last knew TEMU to have

    run = await sync(api, "inventory")

    assert run["status"] in SUCCEEDED, run
    assert shop.sandbox.state.skus[sku.sku_id].stock == start


async def test_temu_orders_not_yet_in_jtl_are_held_back_from_the_stock(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    sku = stocked_sku(shop)
    assert (await sync(api, "inventory", mode="full"))["status"] in SUCCEEDED
    shop.sandbox.add_order(status=2, sku_ids=[sku.sku_id])
    assert (await sync_orders(api))["status"] in SUCCEEDED
    held = held_at_temu(shop, sku)
    assert held > 0

    queued = await sync(api, "inventory")

    assert queued["status"] in SUCCEEDED, queued
    # Queued in JTL's import table is not reserved yet: jobwerk holds the units back itself.
    assert shop.sandbox.state.skus[sku.sku_id].stock == jtl_available(shop, sku) - held
    await worker_ships(shop)
    assert held_at_temu(shop, sku) < held
    shipped = await sync(api, "inventory")
    assert shipped["status"] in SUCCEEDED, shipped
    expected = jtl_available(shop, sku) - held_at_temu(shop, sku)
    assert shop.sandbox.state.skus[sku.sku_id].stock == expected


def _push(key: str | None, target: int, key_target: int | None) -> Push:
    return Push(1, 11, target, 5, key, key_target, 0)


@pytest.mark.parametrize(
    ("pending", "reused"),
    [
        ([_push("jwpending", 3, 3)], True),  # retrying the same edit
        ([_push("jwpending", 4, 3)], False),  # stock moved on: a new edit
        ([_push(None, 3, None)], False),
        ([_push("jwpending", 3, 3), _push(None, 2, None)], False),
    ],
)
def test_a_key_is_reused_only_to_retry_the_same_edit(pending: list[Push], reused: bool) -> None:
    key = attempt_key(pending)
    assert (key == "jwpending") is reused
    assert len(key) <= 32
    assert attempt_key([_push(None, 3, None)]) != attempt_key([_push(None, 3, None)])
