"""Request-side values: time windows (always in pairs) and shipment packages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

__all__ = [
    "OrderSendInfo",
    "SendType",
    "ShipmentPackage",
    "SubPackage",
    "TimeWindow",
    "clean_tracking_number",
]

_MAX_SECONDS = 10**11  # anything larger is a milliseconds timestamp, which TEMU rejects
_TRACKING_JUNK = re.compile(r"[\s\-%#]")


def _to_seconds(value: int | datetime) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return int(value.timestamp())
    return int(value)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval of UNIX seconds; TEMU wants both ends of a time filter or neither."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start > _MAX_SECONDS or self.end > _MAX_SECONDS:
            raise ValueError("TEMU time filters are UNIX seconds, not milliseconds")
        if self.end < self.start:
            raise ValueError("time window ends before it starts")

    @classmethod
    def of(cls, start: int | datetime, end: int | datetime) -> TimeWindow:
        """Build a window from seconds or timezone-aware datetimes."""
        return cls(_to_seconds(start), _to_seconds(end))


def clean_tracking_number(tracking_number: str) -> str:
    """Remove the characters TEMU refuses in tracking numbers (spaces, ``-``, ``%``, ``#``)."""
    return _TRACKING_JUNK.sub("", tracking_number)


class SendType(IntEnum):
    """``sendType`` of a shipment confirmation."""

    SINGLE_PACKAGE = 0
    SPLIT_PACKAGES = 1
    MERGED_ORDERS = 2


@dataclass(frozen=True, slots=True)
class OrderSendInfo:
    """One order line (or part of it) inside a package."""

    parent_order_sn: str
    order_sn: str
    quantity: int
    goods_id: int | None = None
    sku_id: int | None = None

    def to_param(self) -> dict[str, Any]:
        """The ``orderSendInfoList[]`` entry (None values left out)."""
        item: dict[str, Any] = {
            "parentOrderSn": self.parent_order_sn,
            "orderSn": self.order_sn,
            "goodsId": self.goods_id,
            "skuId": self.sku_id,
            "quantity": self.quantity,
        }
        return {k: v for k, v in item.items() if v is not None}


@dataclass(frozen=True, slots=True)
class SubPackage:
    """An extra parcel of the same package."""

    carrier_id: int
    tracking_number: str
    warehouse_id: str

    def to_param(self) -> dict[str, Any]:
        """The ``subSendRequests[]`` entry."""
        return {
            "carrierId": self.carrier_id,
            "trackingNumber": clean_tracking_number(self.tracking_number),
            "selfShippingWarehouseId": self.warehouse_id,
        }


@dataclass(frozen=True, slots=True)
class ShipmentPackage:
    """One package of a shipment confirmation (``sendRequestList[]``)."""

    carrier_id: int
    tracking_number: str
    warehouse_id: str
    orders: Sequence[OrderSendInfo]
    sub_packages: Sequence[SubPackage] = field(default_factory=tuple)
    confirm_acceptance: Sequence[str] = field(default_factory=tuple)

    def to_param(self) -> dict[str, Any]:
        """The ``sendRequestList[]`` entry, tracking numbers cleaned."""
        item: dict[str, Any] = {
            "carrierId": self.carrier_id,
            "trackingNumber": clean_tracking_number(self.tracking_number),
            "selfShippingWarehouseId": self.warehouse_id,
            "orderSendInfoList": [o.to_param() for o in self.orders],
        }
        if self.sub_packages:
            item["subSendRequests"] = [s.to_param() for s in self.sub_packages]
        if self.confirm_acceptance:
            item["confirmAcceptance"] = list(self.confirm_acceptance)
        return item
