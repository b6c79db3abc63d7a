"""How a sandbox is seeded and how strictly it behaves, and the API types it answers."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ALL_API_TYPES", "AMOUNT_API", "RETIRED_API_TYPES", "SandboxConfig"]

AMOUNT_API = "bg.order.amount.query"
ALL_API_TYPES = frozenset({
    "bg.order.list.v2.get", "bg.order.detail.v2.get", "bg.order.shippinginfo.v2.get",
    AMOUNT_API, "bg.local.goods.sku.list.query", "bg.local.goods.stock.edit",
    "bg.logistics.companies.get", "bg.logistics.warehouse.list.get",
    "bg.logistics.shipment.v2.confirm", "bg.logistics.shipment.v2.get",
    "bg.open.accesstoken.info.get",
})  # fmt: skip
RETIRED_API_TYPES = frozenset({
    "bg.order.list.get", "bg.order.detail.get", "bg.order.shippinginfo.get",
    "bg.logistics.shipment.confirm", "bg.logistics.shipment.get",
})  # fmt: skip


@dataclass(slots=True)
class SandboxConfig:
    """How a sandbox is seeded and how strictly it behaves.

    ``start_time`` (UNIX seconds) fixes the simulated clock; None means "now". With
    ``auto_advance`` the simulated clock follows wall time (demo); without it, it only moves
    through ``advance()`` (tests). ``rate_limit`` is requests/s per app key (None: off).
    ``webhook_url`` receives TEMU's order events as signed pushes (None: no pushes).
    """

    seed: int = 1
    orders: int = 200
    skus: int = 1_000
    app_key: str = "sandbox-app-key"
    app_secret: str = "sandbox-app-secret"
    access_token: str = "sandbox-access-token"
    mall_id: int = 634_418_212_345_678
    region: str = "eu"
    start_time: int | None = None
    auto_advance: bool = False
    rate_limit: float | None = 20.0
    timestamp_window: int = 300
    amount_scope: bool = False
    pending_seconds: tuple[int, int] = (300, 3_600)
    delivery_seconds: int = 3 * 86_400
    pending_address: str = "empty"
    tax_rate_scale: int = 1_000_000
    duplicate_request_key_code: int = 150_010_003
    token_lifetime: int = 365 * 86_400
    webhook_url: str | None = None
    extra_scopes: set[str] = field(default_factory=set)
    withheld_scopes: set[str] = field(default_factory=set)
