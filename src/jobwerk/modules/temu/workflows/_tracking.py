"""Order step ``tracking_to_api``: confirm JTL's tracking numbers at TEMU, each exactly once.

A shipment is marked ``sending`` (committed) before its confirmation goes out. A shipment found
``sending`` later may or may not have reached TEMU, so TEMU's recorded shipments are checked
before anything is sent again (tracking numbers are single-use at TEMU).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from jobwerk.modules.temu.client import (
    BusinessError,
    OrderSendInfo,
    ShipmentPackage,
    SubPackage,
    TemuClient,
    clean_tracking_number,
)
from jobwerk.modules.temu.jtl import CarrierMapper, TemuCarrier, UnmappedCarrier
from jobwerk.modules.temu.models import TemuOrder, TemuOrderLine, TemuShipment
from jobwerk.modules.temu.settings import TemuSettings
from jobwerk.modules.temu.workflows import _shop as shop
from jobwerk.sdk import StepContext
from jobwerk.storage.db import Database
from jobwerk.storage.models import utcnow

TRACKING_USED = 120_014_004
_OPEN_LINE = 2


class _Carriers:
    """TEMU carriers per region (read once per run) behind the explicit carrier mapping."""

    def __init__(self, client: TemuClient, settings: TemuSettings) -> None:
        self.client = client
        self.settings = settings
        self.by_region: dict[int, list[TemuCarrier]] = {}
        self.warehouse: str | None = settings.shipping_warehouse_id

    async def resolve(self, jtl_name: str, region_id: int) -> int:
        if region_id not in self.by_region:
            companies = await self.client.list_logistics_companies(region_id)
            self.by_region[region_id] = [
                TemuCarrier(
                    c.logistics_service_provider_id,
                    c.logistics_service_provider_name or "",
                    c.logistics_brand_name or "",
                )
                for c in companies
            ]
        mapper = CarrierMapper(
            self.by_region,
            overrides=self.settings.carrier_overrides,
            region_overrides=self.settings.region_carrier_overrides,
        )
        return mapper.resolve(jtl_name, region_id).carrier_id

    async def warehouse_id(self) -> str:
        if self.warehouse is None:
            warehouses = await self.client.list_warehouses()
            default = next((w for w in warehouses if w.default_warehouse), None)
            chosen = default or (warehouses[0] if warehouses else None)
            if chosen is None:
                raise shop.TemuStepError("the TEMU shop has no warehouse to ship from")
            self.warehouse = chosen.warehouse_id
        return self.warehouse


async def report_tracking(ctx: StepContext[Any]) -> dict[str, Any]:
    settings, owner = shop.settings_of(ctx), shop.instance_id(ctx)
    db = shop.database(ctx)
    async with db.session() as session:
        shipments = list(
            await session.scalars(
                select(TemuShipment)
                .where(
                    TemuShipment.instance_id == owner, TemuShipment.state.in_(("new", "sending"))
                )
                .order_by(TemuShipment.id)
            )
        )
    by_order: dict[str, list[TemuShipment]] = defaultdict(list)
    for shipment in shipments:
        by_order[shipment.parent_order_sn].append(shipment)
    counts = {"confirmed": 0, "already_at_temu": 0, "unmapped": 0, "refused": 0}
    warnings: list[str] = []
    if by_order:
        async with shop.temu_session(ctx, settings) as client:
            carriers = _Carriers(client, settings)
            for done, (number, packages) in enumerate(by_order.items(), 1):
                ctx.check_cancelled()
                outcome = await _report_order(db, owner, client, carriers, number, packages)
                counts[outcome[0]] += 1
                if outcome[1]:
                    warnings.append(outcome[1])
                ctx.progress(done, len(by_order))
    for name, value in counts.items():
        ctx.count(name, value)
    shop.warn_summary(ctx, warnings, "shipments not reported")
    ctx.result["tracking"] = counts
    return counts


async def _report_order(
    db: Database,
    owner: str,
    client: TemuClient,
    carriers: _Carriers,
    number: str,
    packages: list[TemuShipment],
) -> tuple[str, str | None]:
    """Confirm one order's packages; returns the outcome and a warning, if any."""
    async with db.session() as session:
        order = await session.scalar(
            select(TemuOrder).where(
                TemuOrder.instance_id == owner, TemuOrder.parent_order_sn == number
            )
        )
        lines = list(
            await session.scalars(
                select(TemuOrderLine).where(TemuOrderLine.order_id == (order.id if order else -1))
            )
        )
    open_lines = [line for line in lines if line.status == _OPEN_LINE and line.quantity > 0]
    if order is None or not open_lines:
        await _mark(db, packages, "confirmed", None)
        return "already_at_temu", None
    ours = {clean_tracking_number(p.tracking_number) for p in packages}
    if any(p.state == "sending" for p in packages) and await _recorded(
        client, number, open_lines, ours
    ):
        await _mark(db, packages, "confirmed", None)
        return "already_at_temu", None
    try:
        # Each parcel with its own carrier: JTL may ship one order with DHL and DPD.
        carrier_ids = [
            await carriers.resolve(p.jtl_carrier or "", order.region_id or 0) for p in packages
        ]
    except UnmappedCarrier as exc:
        await _mark(db, packages, "new", exc.message)
        return "unmapped", f"TEMU order {number}: {exc.message} (configure a carrier override)"
    warehouse = await carriers.warehouse_id()
    package = ShipmentPackage(
        carrier_id=carrier_ids[0],
        tracking_number=packages[0].tracking_number,
        warehouse_id=warehouse,
        orders=[
            OrderSendInfo(number, line.order_sn, line.quantity, line.goods_id, line.sku_id)
            for line in open_lines
        ],
        sub_packages=[
            SubPackage(carrier_id, p.tracking_number, warehouse)
            for p, carrier_id in zip(packages[1:], carrier_ids[1:], strict=True)
        ],
    )
    await _mark(db, packages, "sending", None, carrier_ids)
    try:
        await client.confirm_shipment([package])
    except BusinessError as exc:
        if exc.error_code == TRACKING_USED and await _recorded(client, number, open_lines, ours):
            await _mark(db, packages, "confirmed", None)
            return "already_at_temu", None
        await _mark(db, packages, "new", str(exc))
        return "refused", f"TEMU refused the tracking of order {number}: {exc}"
    await _mark(db, packages, "confirmed", None)
    return "confirmed", None


async def _recorded(
    client: TemuClient, number: str, lines: list[TemuOrderLine], ours: set[str]
) -> bool:
    """True when TEMU already holds our tracking numbers for the order."""
    recorded = await client.get_shipments(number, lines[0].order_sn)
    numbers = set()
    for info in recorded:
        numbers.add(clean_tracking_number(info.tracking_number or ""))
        numbers.update(
            clean_tracking_number(sub.tracking_number or "")
            for sub in info.sub_package_shipment_info_list
        )
    return ours <= numbers


async def _mark(
    db: Database,
    packages: list[TemuShipment],
    state: str,
    error: str | None,
    carrier_ids: list[int] | None = None,
) -> None:
    async with db.write() as session:
        now = utcnow()
        for index, package in enumerate(packages):
            row = await session.get_one(TemuShipment, package.id)
            row.state, row.error = state, error
            package.state = state
            if carrier_ids is not None:
                row.carrier_id = carrier_ids[index]
            if state == "confirmed":
                row.confirmed_at = now
        if state == "confirmed":
            order = await session.scalar(
                select(TemuOrder).where(
                    TemuOrder.instance_id == packages[0].instance_id,
                    TemuOrder.parent_order_sn == packages[0].parent_order_sn,
                )
            )
            if order is not None:
                order.tracking_state = "reported"
