"""The stock watch (``temu.watch_stock``): JTL changes reach TEMU within seconds, only the changed
SKUs, one stock edit per goods; pausing its job stops it; it never overlaps an inventory sync of
the shop (the ``stock`` lease) and a new watch after a restart catches up on what changed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from jobwerk.core import run_service
from jobwerk.core.executors._procrastinate import ProcrastinateExecutor
from jobwerk.core.runner import RunEnvironment
from jobwerk.core.states import SUCCEEDED
from jobwerk.core.workflow import WorkflowRegistry
from jobwerk.modules.temu import watch_job_id
from jobwerk.modules.temu.jtl import JtlDatabase, create_jtl_engine
from jobwerk.modules.temu.models import TemuInventory
from jobwerk.modules.temu.sandbox import Sku
from jobwerk.modules.temu.workflows import watch_stock
from jobwerk.modules.temu.workflows._lease import STOCK, release_lease, try_lease
from jobwerk.storage.models import Instance, Run, StepRun, utcnow
from tests.support.api import ADMIN, runtime_of, wait_for_run
from tests.support.temu import Shop, add_instance, set_jtl_stock, sync, sync_orders

WAIT_SECONDS = 30
STOCK_EDIT = "bg.local.goods.stock.edit"


@pytest.fixture
async def instance(app: FastAPI, shop: Shop) -> str:
    """``shop``'s instance, its stock watched every second."""
    return await add_instance(app, "Shop A", shop.settings(stock_watch_seconds=1))


async def eventually(check: Callable[[], Any], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {WAIT_SECONDS} s: {what}")
        await asyncio.sleep(0.05)


async def run_of(api: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    answer = await api.get(f"/api/v1/jobs/{run_id}", headers=ADMIN)
    run: dict[str, Any] = answer.json()
    return run


async def counted(api: httpx.AsyncClient, run_id: str, name: str) -> int:
    run = await run_of(api, run_id)
    return int((run.get("result") or {}).get("counts", {}).get(name, 0))


async def start_watch(api: httpx.AsyncClient, app: FastAPI, instance: str) -> str:
    """Start the shop's watch job and wait for its first cycle."""
    async with runtime_of(app).db.read() as session:
        job_id = watch_job_id(await session.get_one(Instance, instance))
    answer = await api.post(f"/api/jobs/{job_id}/run-now", headers=ADMIN)
    assert answer.status_code == 202, answer.text
    run_id: str = answer.json()["run_id"]
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while await counted(api, run_id, "cycles") < 1:
        assert asyncio.get_running_loop().time() < deadline, await run_of(api, run_id)
        await asyncio.sleep(0.05)
    return run_id


async def looks(api: httpx.AsyncClient, run_id: str, count: int) -> None:
    """Wait until the watch looked at JTL ``count`` more times."""
    target = await counted(api, run_id, "cycles") + count
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while await counted(api, run_id, "cycles") < target:
        assert asyncio.get_running_loop().time() < deadline, "the watch stopped looking"
        await asyncio.sleep(0.1)


async def stop_watch(api: httpx.AsyncClient, job_id: str, run_id: str) -> dict[str, Any]:
    """Pause the watch's job; the run ends between two cycles."""
    answer = await api.post(f"/api/jobs/{job_id}/toggle", headers=ADMIN)
    assert answer.status_code == 200 and answer.json()["enabled"] is False, answer.text
    return await wait_for_run(api, run_id, seconds=WAIT_SECONDS)


def goods_with_variants(shop: Shop) -> list[Sku]:
    by_goods: dict[int, list[Sku]] = {}
    for sku in shop.sandbox.state.skus.values():
        by_goods.setdefault(sku.goods_id, []).append(sku)
    return next(skus for skus in by_goods.values() if len(skus) >= 2)


def edits(shop: Shop, since: dict[int, int]) -> dict[int, list[dict[str, Any]]]:
    """Stock changes at TEMU since ``since`` (history length per SKU), by SKU id."""
    history = {sku: shop.sandbox.stock_history(sku) for sku in shop.sandbox.state.skus}
    return {sku: changes[since[sku] :] for sku, changes in history.items() if changes[since[sku] :]}


def history_lengths(shop: Shop) -> dict[int, int]:
    return {sku: len(shop.sandbox.stock_history(sku)) for sku in shop.sandbox.state.skus}


async def test_the_watch_sends_only_changed_skus_one_edit_per_goods_and_stops_when_paused(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    assert (await sync(api, "inventory", mode="full"))["status"] in SUCCEEDED
    run_id = await start_watch(api, app, instance)
    before = history_lengths(shop)
    first, second = goods_with_variants(shop)[:2]
    other = next(s for s in shop.sandbox.state.skus.values() if s.goods_id != first.goods_id)
    targets = {sku.sku_id: await bump_jtl_stock(shop, sku, 30) for sku in (first, second, other)}

    await eventually(
        lambda: all(shop.sandbox.state.skus[s].stock == t for s, t in targets.items()),
        "TEMU shows the three changed SKUs",
    )
    changed = edits(shop, before)
    assert set(changed) == set(targets)  # nothing else was sent
    causes = {change["cause"] for sku in (first.sku_id, second.sku_id) for change in changed[sku]}
    assert len(causes) == 1  # both variants of one goods in one stock edit
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while await counted(api, run_id, "skus_updated") < 3:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert await counted(api, run_id, "stock_edits") == 2

    async with runtime_of(app).db.read() as session:
        job_id = (await session.get_one(Run, run_id)).job_id
    assert job_id is not None
    ended = await stop_watch(api, job_id, run_id)
    assert ended["status"] in SUCCEEDED, ended
    async with runtime_of(app).db.read() as session:
        step = await session.scalar(select(StepRun).where(StepRun.run_id == run_id))
    assert step is not None and step.output == {"ended": "its job was disabled"}


def _held(shop: Shop, sku: Sku) -> int:
    """Units of the SKU in TEMU orders (pending or to ship) not in JTL yet (none are: no order
    sync ran), which the sellable stock leaves out."""
    return sum(
        line.quantity
        for order in shop.sandbox.state.orders.values()
        if order.status in (1, 2)
        for line in order.lines
        if line.sku.sku_id == sku.sku_id and line.status in (1, 2)
    )


async def bump_jtl_stock(shop: Shop, sku: Sku, delta: int) -> int:
    """Add ``delta`` to the article's stock in JTL's first warehouse; returns the stock TEMU
    should show then: JTL's available stock (no order sync ran, so no TEMU order holds any)."""
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.connect() as conn:
            current = conn.exec_driver_sql(
                "SELECT COALESCE(w.fBestand, 0) FROM tArtikel a "
                "LEFT JOIN tlagerbestandProLagerLagerartikel w "
                "ON w.kArtikel = a.kArtikel AND w.kWarenlager = 1 WHERE a.cArtNr = ?",
                (sku.sku_sn,),
            ).scalar_one()
    finally:
        engine.dispose()
    set_jtl_stock(shop, sku, int(current) + delta)
    async with JtlDatabase.from_url(shop.jtl_url) as jtl:
        available = (await jtl.read_stock([sku.sku_sn]))[sku.sku_sn].available
    return available


def sellable_sku(shop: Shop) -> Sku:
    """A SKU that TEMU orders do not hold, so its TEMU stock follows JTL's one to one."""
    return next(s for s in shop.sandbox.state.skus.values() if s.stock > 3 and not _held(shop, s))


async def test_a_sku_temu_refuses_is_sent_once_not_at_every_look(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    await sync(api, "inventory", mode="full")
    sku = sellable_sku(shop)
    # TEMU moved the SKU to other goods: an edit under the goods jobwerk knows is refused.
    sku.goods_id = next(g for g in shop.sandbox.state.goods if g != sku.goods_id)
    async with runtime_of(app).db.write() as session:  # as an order sync does after an order
        await session.execute(
            update(TemuInventory).where(TemuInventory.sku_id == sku.sku_id).values(temu_stock=None)
        )
    await bump_jtl_stock(shop, sku, 5)
    before = shop.sandbox.requests_by_type[STOCK_EDIT]

    run_id = await start_watch(api, app, instance)
    await looks(api, run_id, 4)

    assert shop.sandbox.requests_by_type[STOCK_EDIT] - before == 1
    async with runtime_of(app).db.read() as session:
        row = await session.scalar(select(TemuInventory).where(TemuInventory.sku_id == sku.sku_id))
    assert row is not None and "does not belong" in (row.error or "")


async def test_an_order_taken_while_the_watch_sends_its_sku_is_sent_again(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop
) -> None:
    """TEMU takes an order's units off by itself. When the order sync records an order while
    the watch's edit of that SKU is under way, the edit's answer no longer holds: the next look
    sends the stock again, less the order (stored, it would stay wrong until JTL changed)."""
    instance = await add_instance(app, "Shop A", shop.settings(stock_watch_seconds=8))
    await sync(api, "inventory", mode="full")
    sku = sellable_sku(shop)
    await start_watch(api, app, instance)
    slow = shop.sandbox.inject_fault("latency", STOCK_EDIT, latency=6.0)
    available = await bump_jtl_stock(shop, sku, 5)
    await eventually(lambda: slow.count == 0, "the watch sends the change")

    order = shop.sandbox.add_order(sku_ids=[sku.sku_id])
    assert (await sync_orders(api))["status"] in SUCCEEDED
    assert shop.sandbox.state.skus[sku.sku_id].stock != available  # the edit is under way

    taken = sum(line.quantity for line in order.lines)
    await eventually(
        lambda: shop.sandbox.state.skus[sku.sku_id].stock == available - taken,
        "TEMU shows JTL's stock less the order",
    )


async def test_after_an_order_the_watch_reads_temus_stock_instead_of_sending_it(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    """TEMU takes an order's units off by itself: the SKU's stock at TEMU is already JTL's
    sellable stock, which one read of TEMU's SKU list shows (a read covers 100 SKUs; an edit
    covers one goods)."""
    await sync(api, "inventory", mode="full")
    assert (await sync_orders(api))["status"] in SUCCEEDED
    sku = sellable_sku(shop)
    run_id = await start_watch(api, app, instance)
    before = history_lengths(shop)

    order = shop.sandbox.add_order(sku_ids=[sku.sku_id])
    assert (await sync_orders(api))["status"] in SUCCEEDED
    await looks(api, run_id, 3)

    changes = edits(shop, before)[sku.sku_id]
    assert [change["cause"] for change in changes] == [f"order {order.parent_order_sn}"]
    assert await counted(api, run_id, "skus_read_at_temu") >= 1
    async with runtime_of(app).db.read() as session:
        row = await session.scalar(select(TemuInventory).where(TemuInventory.sku_id == sku.sku_id))
    taken = sum(line.quantity for line in order.lines)
    assert row is not None and row.temu_stock == row.jtl_stock == sku.stock
    assert sku.stock == await bump_jtl_stock(shop, sku, 0) - taken


async def test_units_cancelled_from_one_line_reach_temu_right(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    """The buyer cancels one unit of one line, the parent order stays to ship: TEMU gives the
    unit back by itself, so a later JTL change must be compared with TEMU's new stock."""
    await sync(api, "inventory", mode="full")
    assert (await sync_orders(api))["status"] in SUCCEEDED
    order = next(
        o for o in shop.sandbox.state.orders.values()
        if o.status == 2 and len(o.lines) >= 2 and all(line.status == 2 for line in o.lines)
    )  # fmt: skip
    line = order.lines[0]
    run_id = await start_watch(api, app, instance)
    sellable, _ = await stored_stock(app, line.sku.sku_id)

    shop.sandbox.cancel_units(order.parent_order_sn, line.order_sn, 1)
    assert (await sync_orders(api))["status"] in SUCCEEDED
    await looks(api, run_id, 2)
    await bump_jtl_stock(shop, line.sku, -1)  # as much as came back: sellable as before
    await looks(api, run_id, 3)

    assert await stored_stock(app, line.sku.sku_id) == (sellable, sellable)
    assert shop.sandbox.state.skus[line.sku.sku_id].stock == sellable


async def stored_stock(app: FastAPI, sku_id: int) -> tuple[int | None, int | None]:
    """The SKU's sellable stock in JTL and its stock at TEMU, as jobwerk stored them."""
    async with runtime_of(app).db.read() as session:
        row = await session.scalar(select(TemuInventory).where(TemuInventory.sku_id == sku_id))
    assert row is not None
    return row.jtl_stock, row.temu_stock


async def test_two_temu_skus_listing_one_jtl_article_both_follow_it(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    first, second = [
        s for s in shop.sandbox.state.skus.values() if s.stock > 3 and not _held(shop, s)
    ][:2]
    second.sku_sn = first.sku_sn  # relisted: a second TEMU SKU of the same article
    await sync(api, "inventory", mode="full")
    await start_watch(api, app, instance)

    target = await bump_jtl_stock(shop, first, 7)

    await eventually(
        lambda: (first.stock, second.stock) == (target, target), "TEMU shows both SKUs' stock"
    )


async def test_a_sku_moved_to_other_goods_is_sent_under_its_new_goods(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    await sync(api, "inventory", mode="full")
    sku = sellable_sku(shop)
    sku.goods_id = next(g for g in shop.sandbox.state.goods if g != sku.goods_id)
    target = await bump_jtl_stock(shop, sku, 4)

    run = await sync(api, "inventory", mode="full")

    assert run["status"] == "completed", run
    assert sku.stock == target


async def test_the_watch_waits_while_an_inventory_sync_holds_the_stock_lease(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    assert (await sync(api, "inventory", mode="full"))["status"] in SUCCEEDED
    runtime = runtime_of(app)
    run_id = await start_watch(api, app, instance)
    syncing = await _running_run(app, instance, "temu.sync_inventory")
    assert await try_lease(runtime.db, instance, STOCK, syncing)
    sku = sellable_sku(shop)
    before = sku.stock
    target = await bump_jtl_stock(shop, sku, 20)
    waited = await counted(api, run_id, "cycles_waiting_for_inventory_sync")
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while await counted(api, run_id, "cycles_waiting_for_inventory_sync") < waited + 2:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert shop.sandbox.state.skus[sku.sku_id].stock == before  # nothing sent meanwhile

    await release_lease(runtime.db, instance, STOCK, syncing)
    await eventually(lambda: shop.sandbox.state.skus[sku.sku_id].stock == target, "sent after")
    async with runtime.transaction() as session:
        await run_service.cancel_run(session, run_id)
    assert (await wait_for_run(api, run_id))["status"] == "cancelled"


async def test_an_inventory_sync_waits_for_the_watch_cycle_holding_the_lease(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    runtime = runtime_of(app)
    watching = await _running_run(app, instance, "temu.watch_stock")
    assert await try_lease(runtime.db, instance, STOCK, watching)
    answer = await api.post("/api/temu/inventory/sync", params={"mode": "full"}, headers=ADMIN)
    run_id = answer.json()["run_id"]
    await asyncio.sleep(1.5)
    run = await run_of(api, run_id)
    assert run["status"] == "running" and run["current_step"] == "json_to_db", run

    await _finish(app, watching)  # a holder that stopped running lets go by itself
    run = await wait_for_run(api, run_id)
    assert run["status"] in SUCCEEDED, run


async def test_leases_are_taken_by_one_running_run_at_a_time(app: FastAPI, instance: str) -> None:
    db = runtime_of(app).db
    first = await _running_run(app, instance, "temu.sync_inventory")
    second = await _running_run(app, instance, "temu.watch_stock")
    assert await try_lease(db, instance, STOCK, first)
    assert await try_lease(db, instance, STOCK, first)  # again: it holds it
    assert not await try_lease(db, instance, STOCK, second)
    assert await try_lease(db, instance, "orders", second)  # another lease is another matter
    await release_lease(db, instance, STOCK, second)  # not its lease: nothing happens
    assert not await try_lease(db, instance, STOCK, second)
    await release_lease(db, instance, STOCK, first)
    assert await try_lease(db, instance, STOCK, second)
    await _finish(app, second)
    assert await try_lease(db, instance, STOCK, first)


async def test_a_new_watch_catches_up_on_changes_made_while_none_ran(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    assert (await sync(api, "inventory", mode="full"))["status"] in SUCCEEDED
    run_id = await start_watch(api, app, instance)
    async with runtime_of(app).transaction() as session:
        await run_service.cancel_run(session, run_id)
    await wait_for_run(api, run_id)
    sku = sellable_sku(shop)
    target = await bump_jtl_stock(shop, sku, 11)
    assert shop.sandbox.state.skus[sku.sku_id].stock != target
    resources = await runtime_of(app).env.resources.get("temu")
    resources._watches.clear()  # a new process remembers nothing of the last watch

    await start_watch(api, app, instance)
    await eventually(lambda: shop.sandbox.state.skus[sku.sku_id].stock == target, "caught up")


async def test_the_rowversion_delta_reads_only_changed_articles(shop: Shop) -> None:
    async with JtlDatabase.from_url(shop.jtl_url) as jtl:
        complete = await jtl.stock_changes(None)
        assert complete.complete and len(complete.levels) == len(shop.sandbox.state.skus)
        assert (await jtl.stock_changes(complete.mark)).levels == []
        sku = next(iter(shop.sandbox.state.skus.values()))
        set_jtl_stock(shop, sku, 42)
        delta = await jtl.stock_changes(complete.mark)
        assert not delta.complete
        assert [level.sku for level in delta.levels] == [sku.sku_sn]
        assert (await jtl.stock_changes(delta.mark)).levels == []


def test_the_watch_blocks_no_other_run_of_its_shop_under_procrastinate() -> None:
    assert watch_stock.instance_lock is False
    registry = WorkflowRegistry()
    registry.register(watch_stock)
    executor = ProcrastinateExecutor.__new__(ProcrastinateExecutor)  # no database needed here
    executor.env = cast(RunEnvironment, SimpleNamespace(workflows=registry))
    assert executor._locks(watch_stock.name) is False
    assert executor._locks("temu.sync_orders") is True  # unknown here: it takes the lock


async def _running_run(app: FastAPI, instance: str, workflow: str) -> str:
    """A run of the instance that the database shows as running (another process's)."""
    runtime = runtime_of(app)
    async with runtime.db.write() as session:
        run = Run(workflow=workflow, instance_id=instance, status="running", trigger="test",
                  worker=runtime.env.worker, heartbeat_at=utcnow())  # fmt: skip
        session.add(run)
    return run.id


async def _finish(app: FastAPI, run_id: str) -> None:
    async with runtime_of(app).db.write() as session:
        await session.execute(update(Run).where(Run.id == run_id).values(status="failed"))
