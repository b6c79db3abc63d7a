"""``temu.sync_inventory``: SKU lists → products, JTL stock → inventory deltas, deltas → TEMU.

``quick`` runs the last two steps only (the first quick sync of a shop reads the SKU list once).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.modules.temu.client import MAX_STOCK, OrderStatus, SkuStatus, TemuClient
from jobwerk.modules.temu.jtl import ImportState, JtlBackend
from jobwerk.modules.temu.models import TemuInventory, TemuOrder, TemuOrderLine, TemuProduct
from jobwerk.modules.temu.store import chunks, forget_raw, has_products, raw_payloads, save_raw
from jobwerk.modules.temu.workflows import _shop as shop
from jobwerk.modules.temu.workflows._lease import STOCK, holding
from jobwerk.modules.temu.workflows._preview import DryRun, ReplayJtl, ReplayOf
from jobwerk.modules.temu.workflows._push import push_stock
from jobwerk.sdk import StepContext, Workflow
from jobwerk.storage.db import Database
from jobwerk.storage.models import utcnow

WRITE_CHUNK = 2000
_OPEN = (OrderStatus.PENDING, OrderStatus.UN_SHIPPING)


class SyncInventoryParams(BaseModel):
    """Parameters of ``temu.sync_inventory`` (also the query of ``POST inventory/sync``)."""

    mode: Literal["quick", "full"] = Field(
        "quick", description="quick: JTL stock → TEMU; full: read TEMU's SKU list first"
    )
    verbose: bool = Field(False, description="Log every stock change sent")
    dry_run: DryRun = False
    replay_of: ReplayOf = None
    replay_jtl: ReplayJtl = None


sync_inventory = Workflow(
    "temu.sync_inventory",
    SyncInventoryParams,
    title="TEMU inventory sync",
    description=(
        "Reads TEMU's SKU list (full mode), compares JTL-Wawi stock with the stock at TEMU and "
        "sends the differences to TEMU, one call per goods."
    ),
)


def _key(sku: str | None) -> str:
    # JTL compares article numbers case-insensitively, ignoring surrounding spaces.
    return (sku or "").strip().casefold()


@sync_inventory.step("api_to_json", title="TEMU SKU lists → raw responses", timeout=3600, retries=2)
async def fetch_skus(ctx: StepContext[SyncInventoryParams]) -> dict[str, Any]:
    settings, owner = shop.settings_of(ctx), shop.instance_id(ctx)
    db = shop.database(ctx)
    if ctx.params.mode == "quick":
        async with db.session() as session:
            if await has_products(session, owner):
                return {"run_id": ctx.run_id, "skipped": True}
        ctx.info("no TEMU products stored yet: reading the SKU list once")
    pages: list[tuple[str, Any]] = []
    seen = 0
    async with shop.temu_session(ctx, settings) as client:
        for status in (SkuStatus.ACTIVE, SkuStatus.INACTIVE):
            seen = await _read_status(ctx, client, status, pages, seen)
    async with db.write() as session:
        await forget_raw(session, owner, ctx.run_id, ("sku_page",))
    await save_raw(db, owner, ctx.run_id, "sku_page", pages, chunk=20)
    ctx.count("skus_listed", seen)
    return {"run_id": ctx.run_id, "skipped": False, "skus": seen}


async def _read_status(
    ctx: StepContext[SyncInventoryParams],
    client: TemuClient,
    status: int,
    pages: list[tuple[str, Any]],
    seen: int,
) -> int:
    page_no, count = 1, 0
    while True:
        ctx.check_cancelled()
        page = await client.list_skus(status, page_no=page_no)
        skus = [sku.model_dump(mode="json", by_alias=True) for sku in page.sku_list]
        pages.append((f"{status}-{page_no}", skus))
        count += len(skus)
        ctx.progress(seen + count, None, message=f"SKU list, status {status}, page {page_no}")
        if not skus or count >= page.total:
            return seen + count
        page_no += 1


@sync_inventory.step("json_to_db", title="Raw responses → products", timeout=3600)
@holding(STOCK)  # the last three steps never overlap the shop's stock watch
async def import_products(ctx: StepContext[SyncInventoryParams]) -> dict[str, Any]:
    fetched = ctx.outputs["api_to_json"]
    if fetched.get("skipped"):
        return {"skipped": True}
    owner = shop.instance_id(ctx)
    db = shop.database(ctx)
    async with db.session() as session:
        pages = await raw_payloads(session, owner, fetched["run_id"], "sku_page")
    listed = {int(s["skuId"]): s for page in pages.values() for s in page}
    counts = await _save_products(db, owner, listed)
    for name, value in counts.items():
        ctx.count(name, value)
    return counts


async def _write_chunks(db: Database, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk insert/update in short transactions, so the engine's own writes get through."""
    for part in chunks(rows, WRITE_CHUNK):
        async with db.write() as session:
            await session.execute(statement, part)


async def _save_products(
    db: Database, owner: str, listed: dict[int, dict[str, Any]]
) -> dict[str, int]:
    now = utcnow()
    async with db.session() as session:
        found = await session.execute(
            select(TemuProduct.sku_id, TemuProduct.id).where(TemuProduct.instance_id == owner)
        )
        products: dict[int, int] = {sku_id: row_id for sku_id, row_id in found.all()}  # noqa: C416
        stock = {
            row.sku_id: row
            for row in await session.execute(
                select(
                    TemuInventory.sku_id, TemuInventory.id, TemuInventory.jtl_stock,
                    TemuInventory.goods_id, TemuInventory.sku_sn,
                ).where(TemuInventory.instance_id == owner)
            )
        }  # fmt: skip
    new_products, changed_products, new_stock, changed_stock = [], [], [], []
    for sku_id, sku in listed.items():
        values = {
            "goods_id": int(sku["goodsId"]),
            "sku_sn": sku.get("skuSn"),
            "goods_name": sku.get("goodsName"),
            "spec_name": sku.get("specName"),
            "status": sku.get("status4VO"),
            "price": sku.get("price"),
            "temu_stock": sku.get("stock"),
            "updated_at": now,
        }
        if sku_id in products:
            changed_products.append({"id": products[sku_id], **values})
        else:
            new_products.append({"instance_id": owner, "sku_id": sku_id, **values})
        if not _key(sku.get("skuSn")):
            continue
        temu = sku.get("stock")
        if sku_id in stock:
            row = stock[sku_id]
            needs = row.jtl_stock is not None and row.jtl_stock != temu
            update_row = {"id": row.id, "temu_stock": temu, "needs_sync": needs}
            if (row.goods_id, row.sku_sn) != (values["goods_id"], sku["skuSn"]):
                # Moved to other goods (an edit under the old one is refused) or to another
                # article: compared and sent anew.
                update_row |= {"goods_id": values["goods_id"], "sku_sn": sku["skuSn"],
                               "jtl_stock": None, "needs_sync": False, "error": None}  # fmt: skip
            changed_stock.append(update_row)
        else:
            new_stock.append(
                {"instance_id": owner, "sku_id": sku_id, "goods_id": values["goods_id"],
                 "sku_sn": sku["skuSn"], "temu_stock": temu, "needs_sync": False}
            )  # fmt: skip
    await _write_chunks(db, insert(TemuProduct), new_products)
    await _write_chunks(db, update(TemuProduct), changed_products)
    await _write_chunks(db, insert(TemuInventory), new_stock)
    changed_stock.sort(key=lambda row: row["id"])  # rows locked in id order, like every writer
    await _write_chunks(db, update(TemuInventory), changed_stock)
    gone = [sku_id for sku_id in products if sku_id not in listed]
    for part in chunks(gone):
        async with db.write() as session:
            await session.execute(
                delete(TemuProduct).where(
                    TemuProduct.instance_id == owner, TemuProduct.sku_id.in_(part)
                )
            )
            await session.execute(
                delete(TemuInventory).where(
                    TemuInventory.instance_id == owner, TemuInventory.sku_id.in_(part)
                )
            )
    return {"products_new": len(new_products), "products_updated": len(changed_products),
            "products_removed": len(gone)}  # fmt: skip


@sync_inventory.step(
    "jtl_to_inventory", title="JTL stock → inventory deltas", timeout=3600, retries=2
)
@holding(STOCK)
async def compare_stock(ctx: StepContext[SyncInventoryParams]) -> dict[str, Any]:
    settings, owner = shop.settings_of(ctx), shop.instance_id(ctx)
    db = shop.database(ctx)
    async with db.session() as session:
        rows = (
            await session.execute(
                select(
                    TemuInventory.id,
                    TemuInventory.sku_id,
                    TemuInventory.sku_sn,
                    TemuInventory.jtl_stock,
                    TemuInventory.temu_stock,
                    TemuInventory.needs_sync,
                    TemuInventory.push_key,
                ).where(TemuInventory.instance_id == owner)
            )
        ).all()
        # One JTL article may be listed as several TEMU SKUs (a relisted product): each gets it.
        inventory: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            inventory[_key(row.sku_sn)].append(row)
    if not inventory:
        ctx.warning("no TEMU products are stored yet: run a full inventory sync")
        return {"compared": 0, "deltas": 0}
    changes: list[dict[str, Any]] = []
    found = 0
    async with shop.jtl(ctx, settings) as jtl:
        with shop.failures_as_retry():
            held = await _held_by_temu(db, owner, jtl, settings.jtl_backend == "db")
            async for page in jtl.read_all_stock():
                ctx.check_cancelled()
                for level in page:
                    for known in inventory.get(_key(level.sku), ()):
                        found += 1
                        sellable = sellable_stock(level.available, held.get(known.sku_id, 0))
                        needs = needs_push(sellable, known.temu_stock, known.push_key)
                        if known.jtl_stock != sellable or known.needs_sync != needs:
                            changes.append(
                                {"id": known.id, "jtl_stock": sellable, "needs_sync": needs}
                            )
                ctx.progress(found, len(rows), message="comparing JTL stock")
    changes.sort(key=lambda change: change["id"])  # rows locked in id order, like every writer
    await _write_chunks(db, update(TemuInventory), changes)
    async with db.session() as session:
        deltas = await _count_deltas(session, owner)
    missing = len(rows) - found
    if missing:
        ctx.info(f"{missing} TEMU SKUs have no article in JTL-Wawi; their stock is left alone")
    ctx.count("not_in_jtl", missing)
    ctx.count("deltas", deltas)
    ctx.count("units_held_for_temu_orders", sum(held.values()))
    return {"compared": found, "changed": len(changes), "deltas": deltas}


def sellable_stock(available: int, held: int) -> int:
    """What TEMU may sell of an article: JTL's available stock less what TEMU orders hold, in
    TEMU's range (0 to 1,000,000)."""
    return min(max(available - held, 0), MAX_STOCK)


def needs_push(sellable: int, temu_stock: int | None, push_key: str | None) -> bool:
    """Whether TEMU must be sent ``sellable``: it differs from TEMU's stock, TEMU's stock is
    unknown (TEMU moves it when orders come and go), or a pending attempt's outcome is."""
    return sellable != temu_stock or push_key is not None


async def _held_by_temu(
    db: Database, owner: str, jtl: JtlBackend, jtl_reserves: bool
) -> dict[int, int]:
    """Units per TEMU skuId of orders TEMU accepted (pending or to ship) that JTL's stock does
    not reserve: with ``db``, orders not imported yet (an order waiting in the import table
    counts until JTL-Worker imported it); with ``rest``, whose stock shows no reservations,
    every such order until TEMU has it shipped."""
    async with db.session() as session:
        rows = (
            await session.execute(
                select(
                    TemuOrder.parent_order_sn,
                    TemuOrder.xml_state,
                    TemuOrderLine.sku_id,
                    TemuOrderLine.quantity,
                )
                .join(TemuOrderLine, TemuOrderLine.order_id == TemuOrder.id)
                .where(
                    TemuOrder.instance_id == owner,
                    TemuOrder.status.in_(_OPEN),
                    TemuOrder.tracking_state == "none",  # shipped by JTL: off its stock already
                    TemuOrderLine.status.in_(_OPEN),
                )
            )
        ).all()
    queued = {sn for sn, state, _, _ in rows if state == "queued"}
    in_jtl: set[str] = set()
    if queued and jtl_reserves:
        statuses = await jtl.order_import_status(queued)
        in_jtl = {sn for sn, status in statuses.items() if status.state is ImportState.IMPORTED}
    held: dict[int, int] = defaultdict(int)
    for sn, _, sku_id, quantity in rows:
        if sn not in in_jtl:
            held[sku_id] += max(quantity, 0)
    return held


async def _count_deltas(session: AsyncSession, owner: str) -> int:
    rows = await session.scalars(
        select(TemuInventory.id).where(
            TemuInventory.instance_id == owner, TemuInventory.needs_sync.is_(True)
        )
    )
    return len(list(rows))


# Registered last: the order of registration is the order of the steps.
sync_inventory.step("inventory_to_api", title="Inventory deltas → TEMU", timeout=3600, retries=2)(
    holding(STOCK, release=True)(push_stock)
)
