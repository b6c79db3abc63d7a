"""In-memory state objects of the TEMU sandbox (slotted, so 100 000 SKUs stay small)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Address",
    "Carrier",
    "OrderLine",
    "ParentOrder",
    "Shipment",
    "Sku",
    "TokenGrant",
    "Warehouse",
]


@dataclass(slots=True)
class Sku:
    """A SKU of one goods; ``status`` 2 Active / 3 Inactive, ``sub_status`` e.g. 2001 / 3003."""

    goods_id: int
    sku_id: int
    sku_sn: str
    goods_name: str
    spec_name: str
    price_cents: int
    stock: int
    status: int
    sub_status: int
    crt_time_ms: int
    status_change_time_ms: int


@dataclass(slots=True)
class Address:
    """A buyer's shipping address as TEMU returns it."""

    first_name: str
    last_name: str
    street: str
    addition: str
    post_code: str
    city: str
    state: str
    country: str
    mobile: str
    mail: str


@dataclass(slots=True)
class OrderLine:
    """One order (line) of a parent order; ``quantity`` is what is left to ship."""

    order_sn: str
    sku: Sku
    original_quantity: int
    canceled_quantity: int
    status: int
    shipped_at: int | None = None
    packages: list[str] = field(default_factory=list)

    @property
    def quantity(self) -> int:
        """``originalOrderQuantity − canceledQuantityBeforeShipment``."""
        return self.original_quantity - self.canceled_quantity


@dataclass(slots=True)
class ParentOrder:
    """A parent order with its lines; all times UNIX seconds."""

    parent_order_sn: str
    region_id: int
    site_id: int
    currency: str
    vat_percent: int
    status: int
    created_at: int
    update_time: int
    pending_until: int
    ship_by: int
    address: Address
    lines: list[OrderLine]
    shipping_cents: int = 0
    shipped_at: int | None = None
    labels: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Shipment:
    """One package confirmed for one order line."""

    package_sn: str
    parent_order_sn: str
    order_sn: str
    sku_id: int
    quantity: int
    carrier_id: int
    tracking_number: str
    warehouse_id: str
    sub_tracking: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Carrier:
    """A logistics provider of one region with its tracking-number format."""

    carrier_id: int
    name: str
    brand: str
    tracking_pattern: str


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A seller warehouse."""

    warehouse_id: str
    name: str
    brand: str
    region_id: int
    default: bool


@dataclass(slots=True)
class TokenGrant:
    """An access token: its app key, shop, scopes and expiry (UNIX seconds)."""

    access_token: str
    app_key: str
    mall_id: int
    region: str
    scopes: set[str]
    expires_at: int
