"""Order steps that talk to JTL-Wawi: queue new orders as XML, read tracking numbers back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.modules.temu.client import OrderStatus, clean_tracking_number
from jobwerk.modules.temu.jtl import (
    ImportState,
    JtlBackend,
    JtlDatabase,
    JtlOrder,
    render_order_xml,
)
from jobwerk.modules.temu.mapping import OrderHeld, OrderNotImportable, map_order, seller_sku
from jobwerk.modules.temu.models import TemuOrder, TemuOrderLine, TemuProduct, TemuShipment
from jobwerk.modules.temu.settings import TemuSettings
from jobwerk.modules.temu.store import chunks, held_orders, raw_payloads
from jobwerk.modules.temu.workflows import _shop as shop
from jobwerk.modules.temu.workflows._dry_writes import reading_backend
from jobwerk.sdk import StepContext
from jobwerk.storage.db import Database
from jobwerk.storage.models import utcnow

BATCH = 50
LISTED_ORIGINALS = 100
TRACKING_GRACE_HOURS = 6
"""How long a completely delivered order waits for every parcel's tracking number."""
_NOT_YET = "shipping address not available yet"


async def queue_orders(ctx: StepContext[Any]) -> dict[str, Any]:
    """Map each new order to JTL's import XML and queue it once per TEMU parent order number."""
    settings, owner = shop.settings_of(ctx), shop.instance_id(ctx)
    db = shop.database(ctx)
    async with db.session() as session:
        pending = list(
            await session.scalars(
                select(TemuOrder.id).where(
                    TemuOrder.instance_id == owner,
                    TemuOrder.xml_state == "pending",
                    TemuOrder.status == OrderStatus.UN_SHIPPING,
                    TemuOrder.shipping_info.is_not(None),
                )
            )
        )
    async with db.session() as session:
        listed = await raw_payloads(
            session, owner, ctx.outputs["api_to_json"]["run_id"], "sku_price"
        )
    queued: list[JtlOrder] = []
    warnings: list[str] = []
    counts = {"queued": 0, "already_in_jtl": 0, "not_importable": 0, "waiting": 0, "held": 0}
    async with shop.jtl(ctx, settings) as jtl:
        with shop.failures_as_retry():
            for done, part in enumerate(chunks(pending, BATCH)):
                ctx.check_cancelled()
                async with db.session() as session:
                    orders = list(
                        await session.scalars(select(TemuOrder).where(TemuOrder.id.in_(part)))
                    )
                    skus, prices = await _sku_lookup(session, ctx, [o.id for o in orders], listed)
                erp = await jtl.article_prices(_seller_skus(orders, skus) - set(prices))
                # JTL is written outside our own write transaction, which stays short; what
                # JTL took before a failure is recorded all the same.
                changes: list[dict[str, Any]] = []
                try:
                    await _queue_batch(
                        ctx, jtl, orders, (skus, prices, erp), (queued, warnings, changes), counts
                    )
                finally:
                    if changes:
                        async with db.write() as session:
                            await session.execute(update(TemuOrder), changes)
                ctx.progress(min((done + 1) * BATCH, len(pending)), len(pending))
    for name, value in counts.items():
        ctx.count(name, value)
    shop.warn_summary(ctx, warnings, "order warnings (see the XML export)")
    async with db.session() as session:
        ctx.result["held_orders"] = await held_orders(session, owner)
    # What JTL's Latin-1 import got transliterated, next to the buyer's own script.
    originals = [
        {"order": o.external_order_number, "originals": o.originals} for o in queued if o.originals
    ]
    ctx.count("transliterated", len(originals))
    ctx.result["transliterated"] = originals[:LISTED_ORIGINALS]
    if queued:
        path = ctx.export_dir / "jtl-orders.xml"
        path.write_bytes(render_order_xml(queued))
        ctx.add_export(path, content_type="application/xml", title="Orders queued for JTL-Wawi")
    ctx.result["jtl"] = counts
    return counts


async def _queue_batch(
    ctx: StepContext[Any],
    jtl: JtlBackend,
    orders: list[TemuOrder],
    lookup: tuple[dict[int, str], dict[str, Decimal], dict[str, Decimal]],
    collected: tuple[list[JtlOrder], list[str], list[dict[str, Any]]],
    counts: dict[str, int],
) -> None:
    """Queue the batch's orders in JTL (one transaction); collects queued orders and changes."""
    mapping = shop.settings_of(ctx).mapping()
    queued, warnings, changes = collected
    mapped: list[tuple[TemuOrder, JtlOrder]] = []
    customers = _Customers(shop.settings_of(ctx), jtl)
    for order in orders:
        try:
            jtl_order = map_order(
                order.order,
                order.shipping_info or {},
                order.amounts,
                settings=mapping,
                sku_by_sku_id=lookup[0],
                fallback_unit_prices=lookup[1],
                erp_net_prices=lookup[2],
                customer_number=await customers.number((order.shipping_info or {}).get("mail")),
            )
        except OrderHeld as exc:
            changes.append({"id": order.id, "error_code": None, "error": exc.reason})
            counts["held"] += 1
            warnings.append(f"{exc.message}; the order waits and is tried again next run")
            continue
        except OrderNotImportable as exc:
            if exc.reason == _NOT_YET:
                counts["waiting"] += 1
                continue
            changes.append(
                {"id": order.id, "xml_state": "not_importable", "note": exc.reason,
                 "xml_queued_at": None, "jtl_import_id": None}
            )  # fmt: skip
            counts["not_importable"] += 1
            warnings.append(exc.message)
            continue
        mapped.append((order, jtl_order))
    if not mapped:
        return
    results = await jtl.queue_orders([jtl_order for _, jtl_order in mapped])
    for (order, jtl_order), result in zip(mapped, results, strict=True):
        note = None if result.queued else result.reason
        changes.append(
            {"id": order.id, "xml_state": "queued", "note": note, "xml_queued_at": utcnow(),
             "jtl_import_id": result.import_id or order.jtl_import_id, "error_code": None,
             "error": None, "originals": jtl_order.originals or None}
        )  # fmt: skip
        counts["queued" if result.queued else "already_in_jtl"] += 1
        if result.queued:
            queued.append(jtl_order)
        warnings.extend(f"{order.parent_order_sn}: {w}" for w in jtl_order.warnings)
        if ctx.params.verbose:
            ctx.info(f"order {order.parent_order_sn}: {result.reason}")


class _Customers:
    """The JTL customer number (cKundenNr) an order is written with, by the shop's mode.

    Empty lets JTL create a new customer. Only the database backend reads it; the REST
    backend books on ``jtl_customer_id``.
    """

    def __init__(self, settings: TemuSettings, jtl: JtlBackend) -> None:
        reader = reading_backend(jtl)  # a dry run looks customers up in JTL all the same
        self._db = reader if isinstance(reader, JtlDatabase) else None
        self._mode = settings.jtl_customer_mode if self._db else "new"
        self._collective = settings.jtl_customer_number or ""
        self._known: dict[str, str] = {}

    async def number(self, email: str | None) -> str:
        if self._mode == "collective":
            return self._collective
        if self._mode == "new" or not email or self._db is None:
            return ""
        if email not in self._known:
            found = await self._db.find_customer_by_email(email)
            self._known[email] = found.customer_number if found else ""
        return self._known[email]


def _seller_skus(orders: list[TemuOrder], skus: dict[int, str]) -> set[str]:
    """Every seller SKU the orders' lines name."""
    named = (seller_sku(line, skus) for o in orders for line in o.order.get("orderList", []))
    return {sku for sku in named if sku}


async def _sku_lookup(
    session: AsyncSession, ctx: StepContext[Any], order_ids: list[int], listed: dict[str, Any]
) -> tuple[dict[int, str], dict[str, Decimal]]:
    """Seller SKUs by TEMU skuId and gross prices by seller SKU, from the stored SKU list or,
    for SKUs it lacks, the SKU list entries this run read (``listed``, by skuId)."""
    sku_ids = set(
        await session.scalars(
            select(TemuOrderLine.sku_id).where(TemuOrderLine.order_id.in_(order_ids))
        )
    )
    rows = await session.execute(
        select(TemuProduct.sku_id, TemuProduct.sku_sn, TemuProduct.price).where(
            TemuProduct.instance_id == shop.instance_id(ctx), TemuProduct.sku_id.in_(sku_ids)
        )
    )
    found = {sku_id: (sku_sn, price) for sku_id, sku_sn, price in rows}
    for sku_id in sku_ids - found.keys():
        if str(sku_id) in listed:
            found[sku_id] = (listed[str(sku_id)]["skuSn"], listed[str(sku_id)]["price"])
    skus: dict[int, str] = {}
    prices: dict[str, Decimal] = {}
    for sku_id, (sku_sn, price) in found.items():
        if not sku_sn:
            continue
        skus[sku_id] = sku_sn
        try:
            prices[sku_sn] = Decimal(price or "")
        except InvalidOperation:
            continue
    return skus, prices


async def read_tracking(ctx: StepContext[Any]) -> dict[str, Any]:
    """Tracking numbers of orders JTL shipped; import failures are reported."""
    settings, owner = shop.settings_of(ctx), shop.instance_id(ctx)
    db = shop.database(ctx)
    async with db.session() as session:
        numbers = list(
            await session.scalars(
                select(TemuOrder.parent_order_sn).where(
                    TemuOrder.instance_id == owner,
                    TemuOrder.xml_state == "queued",
                    TemuOrder.tracking_state == "none",
                )
            )
        )
    cancelled = await _cancelled_at_temu(db, owner)
    numbers = [number for number in numbers if number not in cancelled]
    counts = {
        "shipped": 0, "packages": 0, "failed_imports": 0, "waiting": 0, "waiting_for_tracking": 0
    }  # fmt: skip
    warnings: list[str] = []
    async with shop.jtl(ctx, settings) as jtl:
        with shop.failures_as_retry():
            if cancelled:
                await _cancel_in_jtl(db, owner, jtl, cancelled, (counts, warnings))
            tracking = await jtl.read_tracking(numbers)
            waiting = [n for n in numbers if n not in tracking]
            statuses = await jtl.order_import_status(waiting) if waiting else {}
    for status in statuses.values():
        if status.state is ImportState.FAILED:
            counts["failed_imports"] += 1
            warnings.append(
                f"JTL could not import TEMU order {status.external_order_number}: {status.error}"
            )
    counts["waiting"] = len(waiting) - counts["failed_imports"]
    async with db.write() as session:
        for number, packages in tracking.items():
            await _store_packages(session, owner, number, packages, counts, warnings)
    for name, value in counts.items():
        ctx.count(name, value)
    shop.warn_summary(ctx, warnings, "tracking warnings")
    return counts


async def _cancelled_at_temu(db: Database, owner: str) -> dict[str, str | None]:
    """Orders TEMU cancelled after they went to JTL, with their import ids."""
    async with db.session() as session:
        rows = await session.execute(
            select(TemuOrder.parent_order_sn, TemuOrder.jtl_import_id).where(
                TemuOrder.instance_id == owner,
                TemuOrder.xml_state == "queued",
                TemuOrder.tracking_state == "none",
                TemuOrder.status == OrderStatus.CANCELED,
            )
        )
        return {number: str(import_id) if import_id else None for number, import_id in rows}


async def _cancel_in_jtl(
    db: Database,
    owner: str,
    jtl: JtlBackend,
    cancelled: dict[str, str | None],
    report: tuple[dict[str, int], list[str]],
) -> None:
    """Cancel them in JTL too, or say once per order why a person has to; either way their
    tracking is no longer awaited."""
    counts, warnings = report
    outcomes = await jtl.cancel_orders(cancelled)
    counts["cancelled_in_jtl"] = sum(problem is None for problem in outcomes.values())
    for number, problem in outcomes.items():
        if problem is not None:
            warnings.append(
                f"TEMU order {number} was cancelled after it went to JTL "
                f"(JTL id {cancelled[number]}): {problem}"
            )
    async with db.write() as session:
        for number, problem in outcomes.items():
            await session.execute(
                update(TemuOrder)
                .where(TemuOrder.instance_id == owner, TemuOrder.parent_order_sn == number)
                .values(
                    tracking_state="cancelled",
                    note="cancelled at TEMU and in JTL-Wawi" if problem is None else problem,
                    updated_at=utcnow(),
                )
            )


async def _store_packages(
    session: AsyncSession,
    owner: str,
    number: str,
    packages: list[Any],
    counts: dict[str, int],
    warnings: list[str],
) -> None:
    known = set(
        await session.scalars(
            select(TemuShipment.tracking_number).where(
                TemuShipment.instance_id == owner, TemuShipment.parent_order_sn == number
            )
        )
    )
    usable = [p for p in packages if clean_tracking_number(p.tracking_number or "")]
    missing = len(packages) - len(usable)
    if missing and any(_recent(p.shipped_at) for p in packages):
        # TEMU takes all parcels of an order in one call and none later: give JTL's users
        # time to enter every parcel's number before confirming.
        counts["waiting_for_tracking"] += 1
        return
    if not usable:
        warnings.append(f"TEMU order {number} was shipped by JTL without a tracking number")
    elif missing:
        warnings.append(
            f"TEMU order {number}: {missing} of its parcels still have no tracking number "
            f"{TRACKING_GRACE_HOURS} hours after shipping; the others are confirmed without them"
        )
    for package in usable:
        tracking_number = clean_tracking_number(package.tracking_number)
        if tracking_number in known:
            continue
        known.add(tracking_number)
        session.add(
            TemuShipment(
                instance_id=owner,
                parent_order_sn=number,
                tracking_number=tracking_number,
                jtl_carrier=package.carrier,
                jtl_package_id=package.package_id,
                shipped_at=_aware(package.shipped_at),
            )
        )
        counts["packages"] += 1
    counts["shipped"] += 1
    await session.execute(
        update(TemuOrder)
        .where(TemuOrder.instance_id == owner, TemuOrder.parent_order_sn == number)
        .values(tracking_state="found" if usable else "no_tracking", updated_at=utcnow())
    )


def _recent(shipped_at: datetime | None) -> bool:
    """Shipped less than the grace period ago (JTL's times are the server's local time)."""
    if shipped_at is None:
        return False
    now = datetime.now(shipped_at.tzinfo) if shipped_at.tzinfo else datetime.now()
    return now - shipped_at < timedelta(hours=TRACKING_GRACE_HOURS)


def _aware(value: datetime | None) -> datetime | None:
    # JTL stores the server's local time without a zone; kept as UTC-labelled wall time.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
