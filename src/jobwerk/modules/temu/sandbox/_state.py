"""Sandbox state: the shop's SKUs, orders, shipments and tokens, and the simulated clock."""

from __future__ import annotations

import heapq
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from ._catalog import carriers_for_region
from ._config import ALL_API_TYPES, AMOUNT_API, SandboxConfig
from ._data import OrderLine, ParentOrder, Shipment, Sku, TokenGrant, Warehouse
from ._seed import DAY, generate_skus, make_order, pick_status

__all__ = ["ORDER_TERMINAL", "SandboxState"]

ORDER_TERMINAL = frozenset({3, 5, 51})
_PENDING_DONE, _DELIVERED = "pending_done", "delivered"


class SandboxState:
    """Everything the sandbox knows, seeded deterministically from ``config.seed``."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.start_time = config.start_time if config.start_time is not None else int(time.time())
        self._offset = 0
        self._started_mono = time.monotonic()
        self.skus: dict[int, Sku] = {}
        self.goods: dict[int, list[Sku]] = defaultdict(list)
        self.orders: dict[str, ParentOrder] = {}
        self.shipments: dict[str, list[Shipment]] = defaultdict(list)
        self.used_tracking: set[str] = set()
        self.used_request_keys: set[str] = set()
        self.stock_history: dict[int, list[dict[str, int | str]]] = defaultdict(list)
        self.stock_log: list[tuple[float, int, int, str]] = []
        """Every stock change of the shop in order: wall time, skuId, new stock, cause."""
        self.sku_version = 0
        self.sku_query_cache: dict[tuple[int, str], tuple[int, list[Sku]]] = {}
        self._events: list[tuple[int, int, str, str]] = []
        self._event_seq = 0
        self._serial = 0
        self._package_seq = 0
        self.warehouses = self._make_warehouses()
        self.tokens = {config.access_token: self._default_token()}
        self.on_event: Callable[[str, dict[str, Any]], None] | None = None
        """Told of every order change (the webhook pushes; set after seeding)."""
        self._seed()

    # -- clock --------------------------------------------------------------------------
    def now(self) -> int:
        """The simulated time (UNIX seconds)."""
        elapsed = int(time.monotonic() - self._started_mono) if self.config.auto_advance else 0
        return self.start_time + self._offset + elapsed

    def advance(self, seconds: int) -> None:
        """Move the simulated clock forward and apply every status change now due."""
        self._offset += max(0, int(seconds))
        self.tick()

    def _schedule(self, at: int, kind: str, parent_order_sn: str) -> None:
        self._event_seq += 1
        heapq.heappush(self._events, (at, self._event_seq, kind, parent_order_sn))

    def tick(self) -> None:
        """Apply due lifecycle events: pending → unshipped, shipped → received."""
        now = self.now()
        while self._events and self._events[0][0] <= now:
            at, _, kind, sn = heapq.heappop(self._events)
            order = self.orders.get(sn)
            if order is None:
                continue
            if kind == _PENDING_DONE and order.status == 1:
                self._set_status(order, 2, at)
            elif kind == _DELIVERED and order.status in (4, 41):
                self._set_status(order, 5 if order.status == 4 else 51, at)

    def _set_status(self, order: ParentOrder, status: int, at: int) -> None:
        order.status = status
        order.update_time = max(order.update_time, at)
        moves = {2: (1,), 3: (1, 2), 5: (4,), 51: (4,)}.get(status, ())
        for line in order.lines:
            if line.status in moves:
                line.status = 5 if status == 51 else status
        self.order_changed(order)

    def emit(self, event_code: str, event: dict[str, Any]) -> None:
        """Tell the webhook pushes (if any) of an event; ``mallId`` is added."""
        if self.on_event is not None:
            self.on_event(event_code, {"mallId": self.config.mall_id, **event})

    def order_changed(self, order: ParentOrder) -> None:
        """``bg_order_status_change_event`` for each line of the order, as TEMU pushes it."""
        for line in order.lines:
            self.emit(
                "bg_order_status_change_event",
                {"parentOrderSn": order.parent_order_sn, "orderSn": line.order_sn,
                 "orderStatus": order.status, "updateTime": order.update_time},
            )  # fmt: skip

    # -- seeding ------------------------------------------------------------------------
    def _make_warehouses(self) -> list[Warehouse]:
        base = 4_024_228_864_150_000 + self.config.seed % 1000
        return [
            Warehouse(f"WH-{base + 1:017d}", "Zentrallager Görlitz", "Eigenlager", 76, True),
            Warehouse(f"WH-{base + 2:017d}", "Außenlager Wien-Süd", "Eigenlager", 13, False),
        ]

    def _default_token(self) -> TokenGrant:
        cfg = self.config
        scopes = {t for t in ALL_API_TYPES if t != AMOUNT_API} | cfg.extra_scopes
        if cfg.amount_scope:
            scopes.add(AMOUNT_API)
        scopes -= cfg.withheld_scopes
        return TokenGrant(
            cfg.access_token, cfg.app_key, cfg.mall_id, cfg.region, scopes,
            self.start_time + cfg.token_lifetime,
        )  # fmt: skip

    def add_skus(self, skus: Iterable[Sku]) -> None:
        """Register SKUs (and their goods)."""
        for sku in skus:
            self.skus[sku.sku_id] = sku
            self.goods[sku.goods_id].append(sku)
        self.sku_version += 1

    def _seed(self) -> None:
        cfg = self.config
        self.add_skus(generate_skus(self.rng, cfg.skus, self.start_time))
        sku_list = list(self.skus.values())
        if not sku_list:
            return
        for _ in range(cfg.orders):
            status = pick_status(self.rng)
            created = self.start_time - (
                self.rng.randint(0, cfg.pending_seconds[1]) if status == 1
                else self.rng.randint(cfg.pending_seconds[1], 30 * DAY)
            )  # fmt: skip
            self.new_order(sku_list, status=status, created_at=created)

    def new_order(self, skus: list[Sku], *, status: int, created_at: int) -> ParentOrder:
        """Create a parent order in ``status`` (seed data and the control API use this)."""
        self._serial += 1
        low, high = self.config.pending_seconds
        order = make_order(
            self.rng, self._serial + self.config.seed * 10**7, skus,
            created_at=created_at, status=status,
            pending_seconds=self.rng.randint(low, high),
        )  # fmt: skip
        if status == 1 and order.pending_until <= self.now():
            order.pending_until = self.now() + low
        self.orders[order.parent_order_sn] = order
        if status == 2 and self._serial % 11 == 0:
            order.labels.add("soon_to_be_overdue")  # parentOrderLabel as TEMU fills it
        if status == 1:
            self._schedule(order.pending_until, _PENDING_DONE, order.parent_order_sn)
        elif status in (4, 41, 5, 51):
            self._seed_shipped(order, status)
        return order

    def _seed_shipped(self, order: ParentOrder, status: int) -> None:
        lines = order.lines if status in (4, 5) or len(order.lines) == 1 else order.lines[:1]
        if status in (41, 51) and len(order.lines) > 1:
            for line in order.lines[1:]:
                line.status = 2
        carrier = carriers_for_region(order.region_id)[0]
        tracking = f"00340434{self.rng.randrange(10**12):012d}"
        while tracking in self.used_tracking:
            tracking = f"00340434{self.rng.randrange(10**12):012d}"
        if status in (4, 41):  # shipped recently enough not to be delivered yet
            recent = self.now() - self.rng.randint(60, self.config.delivery_seconds // 2)
            at = max(order.pending_until, recent)
        else:
            at = order.pending_until + self.rng.randint(3_600, DAY)
        shipped = [(ln, ln.quantity) for ln in lines]
        warehouse_id = self.warehouses[0].warehouse_id
        self.record_shipment(order, shipped, carrier.carrier_id, tracking, warehouse_id, at)
        order.status = status
        if status in (5, 51):
            for line in lines:
                line.status = 5
        else:
            self._schedule(at + self.config.delivery_seconds, _DELIVERED, order.parent_order_sn)

    # -- mutations ----------------------------------------------------------------------
    def next_package_sn(self) -> str:
        """A new ``PK-…`` package number."""
        self._package_seq += 1
        return f"PK-{self.config.seed % 1000:03d}{self._package_seq:016d}"

    def record_shipment(
        self,
        order: ParentOrder,
        lines: Iterable[tuple[OrderLine, int]],
        carrier_id: int,
        tracking: str,
        warehouse_id: str,
        at: int,
        sub_tracking: list[tuple[int, str]] | None = None,
    ) -> None:
        """Ship ``(line, quantity)`` pairs under one tracking number; order moves to 4 or 41."""
        package_sn = self.next_package_sn()
        for line, quantity in lines:
            self.shipments[line.order_sn].append(
                Shipment(package_sn, order.parent_order_sn, line.order_sn, line.sku.sku_id,
                         quantity, carrier_id, tracking, warehouse_id,
                         list(sub_tracking or []))
            )  # fmt: skip
            line.status, line.shipped_at = 4, at
            line.packages.append(package_sn)
        self.used_tracking.add(tracking)
        self.used_tracking.update(t for _, t in sub_tracking or [])
        open_lines = [ln for ln in order.lines if ln.status == 2 and ln.quantity > 0]
        order.status = 41 if open_lines else 4
        order.shipped_at = order.shipped_at or at
        order.update_time = max(order.update_time, at)
        self.order_changed(order)

    def schedule_delivery(self, order: ParentOrder) -> None:
        """Let a fully shipped order become received after the configured delay."""
        at = self.now() + self.config.delivery_seconds
        self._schedule(at, _DELIVERED, order.parent_order_sn)

    def deduct(self, order: ParentOrder) -> None:
        """Take a new order's quantities off its SKUs' stock, as TEMU does when it is placed."""
        for line in order.lines:
            cause = f"order {order.parent_order_sn}"
            self.set_stock(line.sku, max(line.sku.stock - line.quantity, 0), cause)

    def cancel(self, order: ParentOrder) -> None:
        """Cancel a pending or unshipped parent order; its quantities go back to stock."""
        if order.status not in (1, 2):
            raise ValueError(f"order in status {order.status} cannot be cancelled")
        for line in order.lines:
            if line.status in (1, 2):
                cause = f"cancel {order.parent_order_sn}"
                self.set_stock(line.sku, line.sku.stock + line.quantity, cause)
        self._set_status(order, 3, self.now())
        self.emit(
            "bg_cancel_order_status_change",
            {"parentOrderSn": order.parent_order_sn, "parentAfterSalesSn": "",
             "parentAfterSalesStatus": 5, "updateAt": self.now() * 1000, "applyOperatorRole": 1},
        )  # fmt: skip

    def cancel_units(self, order: ParentOrder, order_sn: str, units: int) -> None:
        """The buyer cancels ``units`` of one line before shipment: they go back to stock, the
        line is cancelled once none are left, the parent order only when no line is left."""
        line = {line.order_sn: line for line in order.lines}[order_sn]
        if order.status not in (1, 2) or line.status not in (1, 2):
            raise ValueError(f"line {order_sn} in status {line.status} cannot be cancelled")
        if not 0 < units <= line.quantity:
            raise ValueError(f"line {order_sn} has {line.quantity} units to cancel, not {units}")
        line.canceled_quantity += units
        self.set_stock(line.sku, line.sku.stock + units, f"cancel {order_sn}")
        if line.quantity == 0:
            line.status = 3
        if all(other.status == 3 for other in order.lines):
            self._set_status(order, 3, self.now())
            return
        order.update_time = max(order.update_time, self.now())
        self.order_changed(order)

    def set_stock(self, sku: Sku, stock: int, cause: str = "control") -> None:
        """Set stock (kept in the SKU's history); sold out flips Active → Inactive/3003 and a
        restock flips back."""
        self.stock_history[sku.sku_id].append(
            {"at": self.now(), "old": sku.stock, "new": stock, "cause": cause}
        )
        self.stock_log.append((time.time(), sku.sku_id, stock, cause))
        sku.stock = stock
        now_ms = self.now() * 1000
        if stock == 0 and sku.status == 2:
            sku.status, sku.sub_status, sku.status_change_time_ms = 3, 3003, now_ms
            self.sku_version += 1
        elif stock > 0 and sku.status == 3 and sku.sub_status == 3003:
            sku.status, sku.sub_status, sku.status_change_time_ms = 2, 2001, now_ms
            self.sku_version += 1
