"""``temu.sync_orders``: TEMU orders → raw responses → database → JTL XML → tracking → TEMU."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.modules.temu.client import (
    OrderStatus,
    TimeWindow,
)
from jobwerk.modules.temu.models import TemuInventory, TemuOrder, TemuOrderLine
from jobwerk.modules.temu.store import (
    as_utc,
    chunks,
    forget_raw,
    raw_payloads,
    read_cursor,
    save_raw,
    write_cursor,
)
from jobwerk.modules.temu.workflows import _shop as shop
from jobwerk.modules.temu.workflows._details import (
    fetch_details,
    merged,
    needing_details,
    sku_prices,
)
from jobwerk.modules.temu.workflows._events import (
    finish_events,
    list_named,
    released_runs,
    settle_events,
    take_events,
)
from jobwerk.modules.temu.workflows._jtl import queue_orders, read_tracking
from jobwerk.modules.temu.workflows._lease import ORDERS, holding
from jobwerk.modules.temu.workflows._preview import DryRun, ReplayJtl, ReplayOf
from jobwerk.modules.temu.workflows._tracking import report_tracking
from jobwerk.sdk import StepContext, Workflow

DAY = 86_400
SKEW = 3600  # seconds of clock skew and late updates the time windows tolerate
CURSOR = "orders"
RAW_KINDS = ("order", "shipping_info", "amount", "refusal", "sku_price")


class SyncOrdersParams(BaseModel):
    """Parameters of ``temu.sync_orders`` (also the query parameters of ``POST orders/sync``)."""

    days_back: int = Field(7, ge=1, le=90, description="Read orders created in the last N days")
    parent_order_status: int | None = Field(
        None,
        description="Only orders in this TEMU status; empty or 0: every status",
        json_schema_extra={
            "oneOf": [{"const": code, "title": name} for code, name in OrderStatus.NAMES.items()]
        },
    )
    full: bool = Field(
        False,
        description="Read every order of the period, not only those changed since the last sync",
    )
    verbose: bool = Field(False, description="Log every order handled")
    order_sns: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] | None = Field(
        None,
        max_length=500,
        description="Only these TEMU parent orders and those of the webhook events waiting "
        "(a webhook starts such a sync); the watermark of the scheduled syncs stays put",
    )
    dry_run: DryRun = False
    replay_of: ReplayOf = None
    replay_jtl: ReplayJtl = None

    @field_validator("parent_order_status")
    @classmethod
    def _known_status(cls, value: int | None) -> int | None:
        if value in (None, 0):
            return None
        if value not in OrderStatus.NAMES:
            known = ", ".join(f"{code} {name}" for code, name in OrderStatus.NAMES.items())
            raise ValueError(f"unknown TEMU order status {value}; one of {known}")
        return value


sync_orders = Workflow(
    "temu.sync_orders",
    SyncOrdersParams,
    title="TEMU order sync",
    description=(
        "Fetches TEMU orders, stores the raw responses and the orders, queues new orders as XML "
        "for JTL-Wawi, reads tracking numbers from JTL and confirms the shipments at TEMU."
    ),
)


@sync_orders.step("api_to_json", title="TEMU orders → raw responses", timeout=3600, retries=2)
@holding(ORDERS)  # order syncs of one shop (scheduled, webhook-started) take turns
async def fetch_orders(ctx: StepContext[SyncOrdersParams]) -> dict[str, Any]:
    settings, owner = shop.settings_of(ctx), shop.instance_id(ctx)
    now = int(time.time())
    window = TimeWindow(now - ctx.params.days_back * DAY, now + SKEW)
    async with shop.database(ctx).session() as session:
        since = (await read_cursor(session, owner, CURSOR)).get("listed_from")
    created: TimeWindow | None = window
    changed = None
    if since and not ctx.params.full:
        # After the first sync every change counts, whatever the order's age: a cancellation
        # of an order created weeks ago must still be seen.
        created, changed = None, TimeWindow(int(since) - SKEW, window.end)
    named = ctx.params.order_sns
    released = await released_runs(shop.database(ctx), ctx.db, owner)
    if named is None:  # this sync reads every change: it takes every event waiting
        readdress = await settle_events(shop.database(ctx), owner, ctx.run_id, released)
    else:
        taken = await take_events(shop.database(ctx), owner, ctx.run_id, named, released)
        readdress = taken.address_changed
    async with shop.temu_session(ctx, settings) as client:
        ctx.progress(0, None, message="reading the order list")
        if named is not None:
            orders = await list_named(client, taken.numbers)
        else:
            orders = await client.list_all_orders(
                parent_order_status=ctx.params.parent_order_status,
                created=created,
                updated=changed,
            )
            listed = {o.parent_order_map.parent_order_sn for o in orders}
            if readdress - listed:
                orders = merged(orders, await list_named(client, sorted(readdress - listed)))
        if created is not None and ctx.params.parent_order_status is None and named is None:
            # Orders to ship are due whatever their age: the look-back must not hide them.
            orders = merged(
                orders, await client.list_all_orders(parent_order_status=OrderStatus.UN_SHIPPING)
            )
        ctx.count("orders_listed", len(orders))
        wanted = await needing_details(ctx, owner, orders)
        # A changed address is read again, complete or not.
        wanted += [sn for sn in _to_ship(orders) & readdress if sn not in wanted]
        details = await fetch_details(ctx, client, wanted)
        unpriced = set(wanted) - {sn for sn, _ in details["amount"]}
        details["sku_price"] = await sku_prices(ctx, client, owner, orders, unpriced)
    db = shop.database(ctx)
    async with db.write() as session:
        await forget_raw(session, owner, ctx.run_id, RAW_KINDS)
    order_rows = [
        (o.parent_order_map.parent_order_sn, o.model_dump(mode="json", by_alias=True))
        for o in orders
    ]
    await save_raw(db, owner, ctx.run_id, "order", order_rows)
    for kind in RAW_KINDS[1:]:
        await save_raw(db, owner, ctx.run_id, kind, details[kind])
    read = {"run_id": ctx.run_id, "orders": len(orders), "details": len(wanted)}
    if named is not None:
        return {**read, "order_sns": taken.numbers}  # not every change: the watermark stays
    return {**read, "listed_from": now}


def _to_ship(orders: list[Any]) -> set[str]:
    return {
        o.parent_order_map.parent_order_sn
        for o in orders
        if o.parent_order_map.parent_order_status == OrderStatus.UN_SHIPPING
    }


@sync_orders.step("json_to_db", title="Raw responses → database", timeout=3600)
@holding(ORDERS)
async def import_orders(ctx: StepContext[SyncOrdersParams]) -> dict[str, Any]:
    owner = shop.instance_id(ctx)
    source_run = ctx.outputs["api_to_json"]["run_id"]
    db = shop.database(ctx)
    async with db.session() as session:
        orders = await raw_payloads(session, owner, source_run, "order")
        infos = await raw_payloads(session, owner, source_run, "shipping_info")
        amounts = await raw_payloads(session, owner, source_run, "amount")
        refusals = await raw_payloads(session, owner, source_run, "refusal")
    created = updated = 0
    numbers = list(orders)
    # One short transaction per chunk: the engine's own progress writes must get through.
    for index, part in enumerate(chunks(numbers)):
        async with db.write() as session:
            new, old = await _upsert_orders(ctx, session, owner, part, orders, infos, amounts)
        created, updated = created + new, updated + old
        ctx.progress(min((index + 1) * len(part), len(numbers)), len(numbers))
    async with db.write() as session:
        await _save_details(session, owner, orders, infos, amounts)
        await _save_refusals(session, owner, infos, refusals)
        listed_from = ctx.outputs["api_to_json"].get("listed_from")
        if listed_from and ctx.params.parent_order_status is None:
            # The watermark moves with the data it covers; a status-filtered run covers less.
            await write_cursor(session, owner, CURSOR, {"listed_from": listed_from})
        await finish_events(session, owner, source_run)
    ctx.count("orders_new", created)
    ctx.count("orders_updated", updated)
    ctx.result["orders"] = {"new": created, "updated": updated}
    return {"new": created, "updated": updated}


async def _upsert_orders(
    ctx: StepContext[SyncOrdersParams],
    session: AsyncSession,
    owner: str,
    numbers: Sequence[str],
    orders: dict[str, Any],
    infos: dict[str, Any],
    amounts: dict[str, Any],
) -> tuple[int, int]:
    """Insert or update one chunk of orders with their lines; returns (new, updated)."""
    existing = {
        o.parent_order_sn: o
        for o in await session.scalars(
            select(TemuOrder).where(
                TemuOrder.instance_id == owner, TemuOrder.parent_order_sn.in_(numbers)
            )
        )
    }
    rows = []
    moved: set[int] = set()
    for sn in numbers:
        row = existing.get(sn)
        if row is None:
            row = TemuOrder(instance_id=owner, parent_order_sn=sn, order={})
            session.add(row)
        was_cancelled = row.status == OrderStatus.CANCELED
        status = row.status
        _apply(row, orders[sn], infos.get(sn), amounts.get(sn))
        rows.append(row)
        if status != row.status:
            moved.update(int(line["skuId"]) for line in orders[sn].get("orderList", []))
        if row.xml_state == "queued" and row.status == OrderStatus.CANCELED and not was_cancelled:
            _cancelled_in_jtl(ctx, row)
        if ctx.params.verbose:
            ctx.info(f"order {sn}: status {row.status}")
    await session.flush()
    moved |= await _save_lines(session, rows, orders)
    await _forget_temu_stock(session, owner, moved)
    return len(numbers) - len(existing), len(existing)


async def _forget_temu_stock(session: AsyncSession, owner: str, sku_ids: set[int]) -> None:
    """TEMU deducts stock for a new order and restores it on cancellation by itself: the stock
    last sent for these SKUs no longer holds, so the next inventory sync (or look of the stock
    watch) sends it again, also where TEMU refused the last one. A target computed before no
    longer holds either: the row's version moves on, so such an edit is neither claimed nor
    its answer stored. Rows are locked in id order, as every writer of them does (PostgreSQL
    would otherwise abort one of two runs locking the same rows in opposite orders)."""
    for part in chunks(sorted(sku_ids)):
        locked = await session.scalars(
            select(TemuInventory.id)
            .where(TemuInventory.instance_id == owner, TemuInventory.sku_id.in_(part))
            .order_by(TemuInventory.id)
            .with_for_update()
        )
        await session.execute(
            update(TemuInventory)
            .where(TemuInventory.id.in_(list(locked)))
            .values(
                temu_stock=None,
                error=None,
                push_key=None,
                push_target=None,
                temu_version=TemuInventory.temu_version + 1,
            )
        )


def _cancelled_in_jtl(ctx: StepContext[SyncOrdersParams], row: TemuOrder) -> None:
    """A cancellation that came after the order went to JTL: the step `jtl_to_tracking` cancels
    it there, or says once that a person has to."""
    row.note = "cancelled at TEMU after it was queued for JTL"
    ctx.count("cancelled_after_import")


async def _save_details(
    session: AsyncSession,
    owner: str,
    orders: dict[str, Any],
    infos: dict[str, Any],
    amounts: dict[str, Any],
) -> None:
    """Addresses and amounts of stored orders that were asked again without being listed."""
    unlisted = [sn for sn in infos if sn not in orders]
    for part in chunks(unlisted):
        for row in await session.scalars(
            select(TemuOrder).where(
                TemuOrder.instance_id == owner, TemuOrder.parent_order_sn.in_(part)
            )
        ):
            row.shipping_info = infos[row.parent_order_sn]
            row.amounts = amounts.get(row.parent_order_sn, row.amounts)


async def _save_refusals(
    session: AsyncSession, owner: str, infos: dict[str, Any], refusals: dict[str, Any]
) -> None:
    """Record what TEMU refused per order; an order TEMU answered again is cleared."""
    for part in chunks([*refusals, *infos]):
        for row in await session.scalars(
            select(TemuOrder).where(
                TemuOrder.instance_id == owner, TemuOrder.parent_order_sn.in_(part)
            )
        ):
            refusal = refusals.get(row.parent_order_sn)
            if refusal is not None:
                row.error_code = refusal["code"]
                row.error = f"TEMU refused {refusal['api']}: {refusal['message']}"
            elif row.error_code is not None:
                row.error_code = row.error = None


def _apply(
    row: TemuOrder,
    order: dict[str, Any],
    info: dict[str, Any] | None,
    amount: dict[str, Any] | None,
) -> None:
    parent = order["parentOrderMap"]
    row.order = order
    row.status = int(parent["parentOrderStatus"])
    row.region_id = parent.get("regionId")
    row.ordered_at = as_utc(parent.get("parentOrderTime"))
    row.temu_updated_at = as_utc(parent.get("updateTime"))
    if info is not None:
        row.shipping_info = info
    if amount is not None:
        row.amounts = amount


async def _save_lines(
    session: AsyncSession, rows: list[TemuOrder], orders: dict[str, Any]
) -> set[int]:
    """Store the orders' lines; returns the skuIds whose stock TEMU moved by itself: of new
    lines, and of lines whose status, SKU or quantity changed (one line cancelled, a quantity
    changed while the order was pending), though the parent order's status stayed."""
    moved: set[int] = set()
    ids = [row.id for row in rows]
    lines = {
        (line.order_id, line.order_sn): line
        for line in await session.scalars(
            select(TemuOrderLine).where(TemuOrderLine.order_id.in_(ids))
        )
    }
    for row in rows:
        for item in orders[row.parent_order_sn].get("orderList", []):
            products = item.get("productList") or [{}]
            line = lines.get((row.id, item["orderSn"]))
            if line is None:
                line = TemuOrderLine(order_id=row.id, order_sn=item["orderSn"])
                session.add(line)
            state = (int(item["orderStatus"]), int(item["skuId"]), int(item["quantity"]))
            if (line.status, line.sku_id, line.quantity) != state:
                moved.update(sku for sku in (line.sku_id, state[1]) if sku is not None)
            line.status, line.sku_id, line.quantity = state
            line.goods_id = int(item["goodsId"])
            line.sku_sn = products[0].get("extCode")
            line.name = item.get("goodsName")
    return moved


# Registered after the first two steps: the order of registration is the order of the steps.
sync_orders.step("db_to_xml", title="Database → JTL XML", timeout=3600, retries=2)(
    holding(ORDERS)(queue_orders)
)
sync_orders.step("jtl_to_tracking", title="JTL → tracking", timeout=3600, retries=2)(
    holding(ORDERS)(read_tracking)
)
sync_orders.step("tracking_to_api", title="Tracking → TEMU", timeout=3600, retries=2)(
    holding(ORDERS, release=True)(report_tracking)
)
