"""``TemuSandbox``: the sandbox's request handling and control surface, independent of HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from jobwerk.modules.temu.client import TokenBucket

from ._api_goods import GOODS_HANDLERS, render_sku
from ._api_logistics import LOGISTICS_HANDLERS, token_info
from ._api_orders import ORDER_HANDLERS, render_order
from ._config import SandboxConfig
from ._data import ParentOrder, TokenGrant
from ._envelope import SandboxError, envelope_error, envelope_ok
from ._faults import Fault, FaultPlan
from ._gateway import check_envelope
from ._state import SandboxState
from ._webhooks import WebhookSender

__all__ = ["SandboxResponse", "TemuSandbox"]

Handler = Callable[[SandboxState, dict[str, Any]], Any]
_HANDLERS: dict[str, Handler] = {**ORDER_HANDLERS, **GOODS_HANDLERS, **LOGISTICS_HANDLERS}
_BAD_GATEWAY = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass(frozen=True, slots=True)
class SandboxResponse:
    """What the HTTP layer sends back."""

    status: int
    body: bytes
    media_type: str = "application/json"


class TemuSandbox:
    """A simulated TEMU seller shop: seeded data, gateway checks, state changes, faults.

    Thread-safe: the HTTP server thread and test code may call it concurrently.

    Args:
        config: seeding and behaviour; keyword arguments override single fields.
    """

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        self.config = replace(config or SandboxConfig(), **overrides)
        self._lock = threading.RLock()
        self.state = SandboxState(self.config)
        self.faults = FaultPlan(self.config.seed)
        rate = self.config.rate_limit
        self._bucket = TokenBucket(rate) if rate else None
        self.request_count = 0
        self.requests_by_type: Counter[str] = Counter()
        self._order_refusals: dict[tuple[str, str], tuple[int, str]] = {}
        self.webhooks = WebhookSender(self.config.app_key, self.config.app_secret)
        self.webhooks.configure(self.config.webhook_url)
        self.state.on_event = self.webhooks.push

    # -- request handling -----------------------------------------------------------------
    def draw_fault(self, api_type: str) -> Fault | None:
        """The fault (if any) that hits the next call of ``api_type``."""
        with self._lock:
            return self.faults.draw(api_type)

    def handle(
        self, raw: bytes, region: str | None = None, fault: Fault | None = None
    ) -> SandboxResponse:
        """Answer one router request body the way TEMU would.

        Args:
            raw: the HTTP request body.
            region: the gateway region the request came in on (default: the shop's region).
            fault: a fault drawn by :meth:`draw_fault` (latency already waited out).
        """
        region = region or self.config.region
        kind = fault.kind if fault else None
        if kind == "http_502":
            return SandboxResponse(502, _BAD_GATEWAY, "text/html")
        if kind == "rate_limit":
            return SandboxResponse(
                200, envelope_error(4_000_004, "RATE_LIMIT_EXCEED_EXCEPTION", region)
            )
        if kind == "system_error":
            return SandboxResponse(200, envelope_error(4_000_000, "SYSTEM_EXCEPTION", region))
        with self._lock:
            self.request_count += 1
            body = self._dispatch(raw, region)
        if kind == "malformed":
            return SandboxResponse(200, body[: max(1, len(body) // 2)])
        if kind == "response_lost":
            return SandboxResponse(502, _BAD_GATEWAY, "text/html")
        return SandboxResponse(200, body)

    def _dispatch(self, raw: bytes, region: str) -> bytes:
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return envelope_error(3_000_000, "BAD_PARAMS: body must be a JSON object", region)
        try:
            api_type, token = check_envelope(self.state, body, region, int(time.time()))
            self.requests_by_type[api_type] += 1
            if self._bucket is not None and not self._bucket.try_acquire():
                raise SandboxError(4_000_004, "RATE_LIMIT_EXCEED_EXCEPTION")
            self.state.tick()
            refusal = self._order_refusals.get((str(body.get("parentOrderSn")), api_type))
            if refusal is not None:
                raise SandboxError(*refusal)
            if api_type == "bg.open.accesstoken.info.get":
                return envelope_ok(token_info(self.state, token), region)
            return envelope_ok(_HANDLERS[api_type](self.state, body), region)
        except SandboxError as exc:
            return envelope_error(exc.code, exc.message, region)

    # -- control surface ------------------------------------------------------------------
    def advance(self, seconds: int) -> int:
        """Move the simulated clock forward; returns the new simulated time."""
        with self._lock:
            self.state.advance(seconds)
            return self.state.now()

    def now(self) -> int:
        """The simulated time (UNIX seconds)."""
        return self.state.now()

    def inject_fault(
        self,
        kind: str,
        api_type: str = "*",
        *,
        count: int | None = 1,
        probability: float | None = None,
        latency: float = 0.0,
    ) -> Fault:
        """Arm a fault (see :class:`Fault`); returns it."""
        fault = Fault(kind, api_type, count, probability, latency)
        with self._lock:
            self.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self.faults.clear()

    def order(self, parent_order_sn: str) -> ParentOrder | None:
        """The live order object (or None)."""
        with self._lock:
            self.state.tick()
            return self.state.orders.get(parent_order_sn)

    def order_snapshot(self, parent_order_sn: str) -> dict[str, Any] | None:
        """An order as TEMU's detail shape plus address and shipments (control API)."""
        with self._lock:
            order = self.order(parent_order_sn)
            if order is None:
                return None
            snapshot = render_order(self.state, order, detail=True)
            snapshot["updateTime"] = order.update_time
            snapshot["shipments"] = [
                {"orderSn": s.order_sn, "trackingNumber": s.tracking_number,
                 "carrierId": s.carrier_id, "quantity": s.quantity, "packageSn": s.package_sn}
                for line in order.lines for s in self.state.shipments.get(line.order_sn, [])
            ]  # fmt: skip
            return snapshot

    def sku_snapshot(self, sku_id: int) -> dict[str, Any] | None:
        """A SKU in the SKU-list shape (control API)."""
        with self._lock:
            sku = self.state.skus.get(sku_id)
            return render_sku(sku) if sku else None

    def add_order(
        self,
        *,
        status: int = 2,
        sku_ids: Iterable[int] | None = None,
        created_at: int | None = None,
    ) -> ParentOrder:
        """Create a parent order now (status 1 leaves pending after the configured delay); it
        counts as changed now, whatever its creation time, and takes its quantities off stock."""
        with self._lock:
            pool = (
                [self.state.skus[i] for i in sku_ids] if sku_ids else list(self.state.skus.values())
            )
            when = created_at if created_at is not None else self.state.now()
            order = self.state.new_order(pool, status=status, created_at=when)
            order.update_time = max(order.update_time, when, self.state.now())
            if status in (1, 2):
                self.state.deduct(order)
            self.state.order_changed(order)
            return order

    def refuse_order(
        self, parent_order_sn: str, api_type: str, code: int, message: str, *, armed: bool = True
    ) -> None:
        """Make every call of ``api_type`` for one order answer a business error (e.g.
        ``180020008`` "Please sign on DPA agreement first") until disarmed.

        Raises:
            KeyError: unknown order.
        """
        with self._lock:
            if parent_order_sn not in self.state.orders:
                raise KeyError(parent_order_sn)
            if armed:
                self._order_refusals[(parent_order_sn, api_type)] = (code, message)
            else:
                self._order_refusals.pop((parent_order_sn, api_type), None)

    def stock_history(self, sku_id: int) -> list[dict[str, int | str]]:
        """Every stock change of a SKU: time, old, new and its cause (order, cancel, the
        stock edit's requestUniqueKey, control)."""
        with self._lock:
            return list(self.state.stock_history.get(sku_id, []))

    def stock_log(self, since: int = 0) -> tuple[int, list[tuple[float, int, int, str]]]:
        """Stock changes from position ``since`` of the shop's log (wall time, skuId, new
        stock, cause) and the position to ask from next time."""
        with self._lock:
            log = self.state.stock_log
            return len(log), log[since:]

    def change_address(self, parent_order_sn: str, **fields: str) -> None:
        """Change an unshipped order's shipping address (the buyer asked TEMU to).

        Raises:
            KeyError: unknown order. ValueError: shipped already, or an unknown field.
        """
        with self._lock:
            order = self.state.orders[parent_order_sn]
            if order.status not in (1, 2):
                raise ValueError(
                    f"order in status {order.status}: the address can no longer change"
                )
            for name, value in fields.items():
                if not hasattr(order.address, name):
                    raise ValueError(f"unknown address field {name!r}")
                setattr(order.address, name, value)
            order.update_time = max(order.update_time, self.state.now())
            self.state.emit(
                "bg_trade_logistics_address_changed", {"parentOrderSn": parent_order_sn}
            )

    def cancel_units(self, parent_order_sn: str, order_sn: str, units: int) -> None:
        """Cancel ``units`` of one line of a pending or unshipped order (the rest stays).

        Raises:
            KeyError: unknown order or line. ValueError: too many units, or the line can no
                longer be cancelled.
        """
        with self._lock:
            self.state.cancel_units(self.state.orders[parent_order_sn], order_sn, units)

    def cancel_order(self, parent_order_sn: str) -> None:
        """Cancel a pending or unshipped order.

        Raises:
            KeyError: unknown order. ValueError: the order can no longer be cancelled.
        """
        with self._lock:
            self.state.cancel(self.state.orders[parent_order_sn])

    def add_token(
        self, access_token: str, *, expired: bool = False, scopes: Iterable[str] | None = None
    ) -> TokenGrant:
        """Register another token of the sandbox app (e.g. an expired one)."""
        with self._lock:
            base = self.state.tokens[self.config.access_token]
            grant = TokenGrant(
                access_token, base.app_key, base.mall_id, base.region,
                set(scopes) if scopes is not None else set(base.scopes),
                self.state.now() - 1 if expired else base.expires_at,
            )  # fmt: skip
            self.state.tokens[access_token] = grant
            return grant

    def set_webhook_url(self, url: str | None) -> None:
        """Push TEMU's order events to ``url`` from now on (None: stop), signed with the app
        secret like TEMU's (see ``webhooks.deliveries`` for what each push was answered)."""
        with self._lock:
            self.webhooks.configure(url)

    def grant_scope(self, api_type: str, granted: bool = True) -> None:
        """Add or remove an API (e.g. ``bg.order.amount.query``) from the default token."""
        with self._lock:
            scopes = self.state.tokens[self.config.access_token].scopes
            if granted:
                scopes.add(api_type)
            else:
                scopes.discard(api_type)
