"""A dry run's JTL backend and TEMU client: they read as usual and record each write instead of
making it, in the run's private copy of the module's tables (``WriteLog``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import httpx
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, insert, select

from jobwerk.modules.temu.client import (
    MAX_STOCK,
    SendType,
    ShipmentConfirmResult,
    ShipmentPackage,
    StockEditResult,
    TemuClient,
)
from jobwerk.modules.temu.jtl import (
    ImportState,
    ImportStatus,
    JtlBackend,
    JtlDatabase,
    JtlHealth,
    JtlOrder,
    JtlRest,
    QueueResult,
    StockChanges,
    StockLevel,
    TrackingPackage,
    render_order_documents,
)
from jobwerk.modules.temu.models import TemuInventory
from jobwerk.storage.db import Database

NOT_WRITTEN = "dry run: not written"
KINDS = ("jtl_orders", "jtl_cancellations", "stock_edits", "tracking_calls")

metadata = MetaData()
preview_write = Table(
    "preview_write",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("record", JSON, nullable=False),
)
"""What a dry run would have written, one row per JTL order, cancellation, stock edit or TEMU
shipment confirmation; only in the run's private copy, never in jobwerk's database."""


class WriteLog:
    """The writes a dry run held back, kept with its private copy of the module's tables."""

    def __init__(self, db: Database, owner: str) -> None:
        self.db = db
        self.owner = owner

    async def record(self, kind: str, records: Sequence[dict[str, Any]]) -> None:
        if records:
            async with self.db.write() as session:
                await session.execute(
                    insert(preview_write), [{"kind": kind, "record": r} for r in records]
                )

    async def records(self, kind: str) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            rows = await session.scalars(
                select(preview_write.c.record)
                .where(preview_write.c.kind == kind)
                .order_by(preview_write.c.id)
            )
            return list(rows)

    async def stock_at_temu(self, sku_ids: Iterable[int]) -> dict[int, tuple[str, int | None]]:
        """Seller SKU and the stock last known at TEMU, by skuId (before an edit is recorded)."""
        async with self.db.read() as session:
            rows = await session.execute(
                select(TemuInventory.sku_id, TemuInventory.sku_sn, TemuInventory.temu_stock).where(
                    TemuInventory.instance_id == self.owner, TemuInventory.sku_id.in_(list(sku_ids))
                )
            )
            return {sku_id: (sku_sn, stock) for sku_id, sku_sn, stock in rows}


class PreviewJtl:
    """The shop's JTL backend as a dry run uses it: reads go to JTL-Wawi; orders and
    cancellations are recorded with the document JTL would get, and JTL is told nothing."""

    def __init__(self, backend: JtlBackend, log: WriteLog) -> None:
        self.backend = backend
        self.log = log

    async def check(self) -> JtlHealth:
        return await self.backend.check()

    def read_all_stock(self, page_size: int = 5000) -> AsyncIterator[list[StockLevel]]:
        return self.backend.read_all_stock(page_size)

    async def stock_changes(self, mark: int | None) -> StockChanges:
        return await self.backend.stock_changes(mark)

    async def article_prices(self, skus: Iterable[str]) -> dict[str, Decimal]:
        return await self.backend.article_prices(skus)

    async def order_import_status(self, numbers: Iterable[str]) -> dict[str, ImportStatus]:
        return await self.backend.order_import_status(numbers)

    async def read_tracking(self, numbers: Iterable[str]) -> dict[str, list[TrackingPackage]]:
        return await self.backend.read_tracking(numbers)

    async def queue_orders(self, orders: Sequence[JtlOrder]) -> list[QueueResult]:
        """What ``queue_orders`` of the backend would do: orders JTL knows stay untouched, the
        others are recorded with their import XML (``db``) or API payload (``rest``)."""
        known = await self.backend.order_import_status([o.external_order_number for o in orders])
        documents = await self._documents(orders)
        results: list[QueueResult] = []
        records: list[dict[str, Any]] = []
        for order, (kind, document) in zip(orders, documents, strict=True):
            number = order.external_order_number
            status = known.get(number)
            if status is not None and status.state is not ImportState.MISSING:
                results.append(_known(status))
                continue
            known[number] = ImportStatus(number, ImportState.QUEUED)  # a repeat within the batch
            results.append(QueueResult(number, True, None, NOT_WRITTEN))
            records.append({"order": number, "format": kind, "document": document})
        await self.log.record("jtl_orders", records)
        return results

    async def _documents(self, orders: Sequence[JtlOrder]) -> list[tuple[str, str]]:
        """Each order as JTL would get it; invalid ones fail as the real write would."""
        if isinstance(self.backend, JtlRest):
            payloads = [await self.backend.order_payload(order) for order in orders]
            return [("json", json.dumps(p, ensure_ascii=False, indent=2)) for p in payloads]
        documents = render_order_documents(orders)
        return [("xml", document.decode("iso-8859-1")) for document in documents]

    async def cancel_orders(self, numbers: Iterable[str]) -> dict[str, str | None]:
        """Recorded, not sent; the ``db`` backend, which cannot cancel, answers as it would."""
        ids = dict(numbers) if isinstance(numbers, Mapping) else {}
        wanted = list(dict.fromkeys(numbers))
        outcomes: dict[str, str | None] = dict.fromkeys(wanted)
        if isinstance(self.backend, JtlDatabase):
            outcomes = await self.backend.cancel_orders(wanted)  # says what to do; writes nothing
        await self.log.record(
            "jtl_cancellations",
            [
                {"order": n, "jtl_id": ids.get(n), "outcome": outcomes[n] or "cancelled in JTL"}
                for n in wanted
            ],
        )
        return outcomes

    async def close(self) -> None:
        """The backend stays open: it is the shop's, shared with other runs (or closed by the
        step that opened it)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _known(status: ImportStatus) -> QueueResult:
    reason = (
        "order already exists in JTL-Wawi"
        if status.state is ImportState.IMPORTED
        else "order already queued"
    )
    return QueueResult(
        status.external_order_number, False, status.import_id or status.order_id, reason
    )


def reading_backend(jtl: JtlBackend) -> JtlBackend:
    """The backend a step reads through: the shop's own one, also in a dry run."""
    return jtl.backend if isinstance(jtl, PreviewJtl) else jtl


class PreviewTemuClient(TemuClient):
    """A TEMU client that reads as usual (or from a replayed archive through ``transport``)
    and records stock edits and shipment confirmations instead of sending them."""

    def __init__(
        self, *, log: WriteLog, transport: httpx.AsyncBaseTransport | None = None, **options: Any
    ) -> None:
        if transport is not None:  # a replay: archived answers, no waiting, nothing to retry
            options.update(transport=transport, rate_limit=None, max_retries=0)
        super().__init__(**options)
        self.log = log

    async def set_stock(
        self,
        goods_id: int,
        targets: Mapping[int, int],
        *,
        request_unique_key: str | None = None,
        stock_type: int = 0,
    ) -> StockEditResult:
        before = await self.log.stock_at_temu(targets)
        records = []
        for sku_id, target in targets.items():
            sku, old = before.get(sku_id, (None, None))
            new = max(0, min(MAX_STOCK, int(target)))  # TEMU's range, as the real edit sends it
            records.append({"goods_id": goods_id, "sku_id": sku_id, "sku": sku, "old": old,
                            "new": new})  # fmt: skip
        await self.log.record("stock_edits", records)
        return StockEditResult(goods_id=goods_id, operate_result=True)

    async def confirm_shipment(
        self, packages: Sequence[ShipmentPackage], send_type: SendType = SendType.SINGLE_PACKAGE
    ) -> ShipmentConfirmResult:
        records = []
        for package in packages:
            param = package.to_param()
            parcels = [param, *param.get("subSendRequests", [])]
            records.append(
                {
                    "order": package.orders[0].parent_order_sn if package.orders else None,
                    "tracking_numbers": ", ".join(p["trackingNumber"] for p in parcels),
                    "carrier_ids": ", ".join(str(p["carrierId"]) for p in parcels),
                    "warehouse_id": package.warehouse_id,
                    "lines": len(package.orders),
                    "request": {"sendType": int(send_type), "sendRequestList": [param]},
                }
            )
        await self.log.record("tracking_calls", records)
        return ShipmentConfirmResult()
