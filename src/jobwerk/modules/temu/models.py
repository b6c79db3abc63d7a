"""The TEMU module's tables: raw responses, orders, shipments, products, inventory and cursors.

Every row belongs to one instance (a TEMU shop), so several shops share the tables side by side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from jobwerk.storage.models import AutoId, Base, utcnow

__all__ = [
    "TemuInventory",
    "TemuLease",
    "TemuOrder",
    "TemuOrderEvent",
    "TemuOrderLine",
    "TemuProduct",
    "TemuRawResponse",
    "TemuShipment",
    "TemuSyncCursor",
]

_INSTANCE = "instance.id"


class TemuRawResponse(Base):
    """A TEMU response body kept as fetched (orders, shipping info, amounts, SKU pages)."""

    __tablename__ = "temu_raw_response"
    __table_args__ = (Index("ix_temu_raw_response_run", "instance_id", "run_id", "kind"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey(_INSTANCE, ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TemuOrder(Base):
    """A TEMU parent order and where it stands on its way to JTL and back."""

    __tablename__ = "temu_order"
    __table_args__ = (
        Unique("instance_id", "parent_order_sn", name="uq_temu_order_sn"),
        Index("ix_temu_order_xml_state", "instance_id", "xml_state"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey(_INSTANCE, ondelete="CASCADE"))
    parent_order_sn: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    region_id: Mapped[int | None] = mapped_column(Integer)
    ordered_at: Mapped[datetime | None]
    temu_updated_at: Mapped[datetime | None]
    order: Mapped[dict[str, Any]] = mapped_column(JSON)
    shipping_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    amounts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    xml_state: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending`` → ``queued`` (in JTL's import table) or ``not_importable`` (see ``note``)."""
    xml_queued_at: Mapped[datetime | None]
    jtl_import_id: Mapped[int | None] = mapped_column(BigInteger)
    tracking_state: Mapped[str] = mapped_column(String(16), default="none")
    """``none`` → ``found`` (JTL shipped) → ``reported`` (confirmed at TEMU); ``cancelled``
    when TEMU cancelled the order after it went to JTL (no tracking is awaited)."""
    note: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None] = mapped_column(BigInteger)
    """TEMU's business code of the last refusal that held this order back (None: JTL-side)."""
    error: Mapped[str | None] = mapped_column(Text)
    """Why the order is held back (a TEMU refusal, no price); cleared once it goes to JTL."""
    originals: Mapped[dict[str, str] | None] = mapped_column(JSON)
    """Buyer fields transliterated for JTL (ISO-8859-1), by JTL field, as TEMU sent them."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TemuOrderLine(Base):
    """One order line (``orderSn``) of a parent order."""

    __tablename__ = "temu_order_line"
    __table_args__ = (Unique("order_id", "order_sn", name="uq_temu_order_line_sn"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("temu_order.id", ondelete="CASCADE"))
    order_sn: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    goods_id: Mapped[int] = mapped_column(BigInteger)
    sku_id: Mapped[int] = mapped_column(BigInteger)
    sku_sn: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(Text)


class TemuShipment(Base):
    """A package JTL shipped for an order; its tracking number is reported to TEMU once."""

    __tablename__ = "temu_shipment"
    __table_args__ = (
        Unique("instance_id", "tracking_number", name="uq_temu_shipment_tracking"),
        Index("ix_temu_shipment_state", "instance_id", "state"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey(_INSTANCE, ondelete="CASCADE"))
    parent_order_sn: Mapped[str] = mapped_column(String(64))
    tracking_number: Mapped[str] = mapped_column(String(100))
    jtl_carrier: Mapped[str | None] = mapped_column(String(255))
    jtl_package_id: Mapped[int | None] = mapped_column(BigInteger)
    carrier_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="new")
    """``new`` → ``sending`` (a confirm may have reached TEMU) → ``confirmed``."""
    error: Mapped[str | None] = mapped_column(Text)
    shipped_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TemuProduct(Base):
    """A TEMU SKU as the SKU list reports it."""

    __tablename__ = "temu_product"
    __table_args__ = (Unique("instance_id", "sku_id", name="uq_temu_product_sku"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey(_INSTANCE, ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(BigInteger)
    goods_id: Mapped[int] = mapped_column(BigInteger)
    sku_sn: Mapped[str | None] = mapped_column(String(100))
    goods_name: Mapped[str | None] = mapped_column(Text)
    spec_name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[str | None] = mapped_column(String(32))
    temu_stock: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TemuInventory(Base):
    """JTL stock against the stock last known at TEMU; ``needs_sync`` marks a delta to push."""

    __tablename__ = "temu_inventory"
    __table_args__ = (
        Unique("instance_id", "sku_id", name="uq_temu_inventory_sku"),
        Index("ix_temu_inventory_needs_sync", "instance_id", "needs_sync"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey(_INSTANCE, ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(BigInteger)
    goods_id: Mapped[int] = mapped_column(BigInteger)
    sku_sn: Mapped[str] = mapped_column(String(100))
    jtl_stock: Mapped[int | None] = mapped_column(Integer)
    temu_stock: Mapped[int | None] = mapped_column(Integer)
    needs_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    push_key: Mapped[str | None] = mapped_column(String(40))
    """``requestUniqueKey`` of a stock edit whose outcome is unknown (sent, no answer); reused
    only to retry that same edit (same ``push_target``), cleared once TEMU answered."""
    push_target: Mapped[int | None] = mapped_column(Integer)
    temu_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Bumped whenever an order sync forgets ``temu_stock`` (TEMU moved the stock itself): a
    stock edit computed from an older version is not claimed, and its answer not stored."""
    error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]


class TemuSyncCursor(Base):
    """A watermark of one sync of one instance (e.g. the last order window read)."""

    __tablename__ = "temu_sync_cursor"

    instance_id: Mapped[str] = mapped_column(
        String(32), ForeignKey(_INSTANCE, ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TemuOrderEvent(Base):
    """A TEMU webhook about one parent order, waiting for the order sync that reads it again."""

    __tablename__ = "temu_order_event"
    __table_args__ = (Index("ix_temu_order_event_open", "instance_id", "run_id"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey(_INSTANCE, ondelete="CASCADE"))
    parent_order_sn: Mapped[str] = mapped_column(String(64))
    event_code: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[str | None] = mapped_column(String(32))
    """The order sync that took the event (None: none yet)."""


class TemuLease(Base):
    """Which run of an instance does one kind of work now (``orders``, ``stock``), so that two
    runs never do it at once, whichever processes run them. Free when ``holder`` is empty or
    names a run that is no longer running."""

    __tablename__ = "temu_lease"

    instance_id: Mapped[str] = mapped_column(
        String(32), ForeignKey(_INSTANCE, ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(32))
    acquired_at: Mapped[datetime | None]
