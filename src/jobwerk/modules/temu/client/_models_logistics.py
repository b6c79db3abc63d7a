"""Carrier, warehouse, shipment and token payloads (``bg.logistics.*``, ``bg.open.*``)."""

from __future__ import annotations

from pydantic import Field

from ._model_base import TemuModel

__all__ = [
    "AccessTokenInfo",
    "AuthEvent",
    "CooperativeWarehouse",
    "LogisticsCompany",
    "ShipmentConfirmResult",
    "ShipmentInfo",
    "SubPackageShipment",
    "Warehouse",
]


class LogisticsCompany(TemuModel):
    """A carrier of one region; ``logistics_service_provider_id`` is the shipment ``carrierId``."""

    logistics_service_provider_id: int
    logistics_service_provider_name: str | None = None
    logistics_brand_name: str | None = None


class Warehouse(TemuModel):
    """A seller warehouse; ``warehouse_id`` is the shipment ``selfShippingWarehouseId``."""

    warehouse_id: str
    warehouse_name: str | None = None
    warehouse_brand: str | None = None
    warehouse_management_type: int | None = None
    region_id1: int | None = None
    default_warehouse: bool | None = None
    enable_buy_shipping_label: bool | None = None


class ShipmentConfirmResult(TemuModel):
    """``bg.logistics.shipment.v2.confirm`` result."""

    assistant_agreement_text: str | None = None
    warning_message: list[str] | None = None


class CooperativeWarehouse(TemuModel):
    """Cooperative warehouse that shipped a package (cooperative fulfilment only)."""

    warehouse_provider_brand_name: str | None = None
    warehouse_name: str | None = None
    warehouse_provider_code: str | None = None
    warehouse_code: str | None = None


class SubPackageShipment(TemuModel):
    """An extra parcel of a package."""

    package_sn: str | None = None
    package_delivery_type: int | None = None
    carrier_id: int | None = None
    carrier_name: str | None = None
    tracking_number: str | None = None


class ShipmentInfo(TemuModel):
    """A recorded shipment of an order line (``bg.logistics.shipment.v2.get``)."""

    carrier_id: int | None = None
    carrier_name: str | None = None
    tracking_number: str | None = None
    sku_id: int | None = None
    quantity: int | None = None
    package_sn: str | None = None
    package_delivery_type: int | None = None
    tracking_warning_label: int | None = None
    cooperative_warehouse_dto: CooperativeWarehouse | None = Field(
        default=None, alias="cooperativeWarehouseDTO"
    )
    sub_package_shipment_info_list: list[SubPackageShipment] = Field(default_factory=list)


class AuthEvent(TemuModel):
    """A webhook event the seller authorized."""

    event_code: str | None = None
    permits_status: int | None = None


class AccessTokenInfo(TemuModel):
    """``bg.open.accesstoken.info.get`` result; ``api_scope_list`` names the callable APIs."""

    mall_id: int | None = None
    region_id: int | None = None
    mall_type: int | None = None
    expired_time: int | None = None
    semi_unique_id: str | None = None
    api_scope_list: list[str] = Field(default_factory=list)
    auth_event_code_list: list[AuthEvent] = Field(default_factory=list)
    app_subscribe_event_code_list: list[str] = Field(default_factory=list)
    app_subscribe_status: int | None = None

    @property
    def expires_at_seconds(self) -> int | None:
        """``expired_time`` in UNIX seconds (TEMU's unit is undocumented: detect milliseconds)."""
        if self.expired_time is None:
            return None
        return self.expired_time // 1000 if self.expired_time > 10**11 else self.expired_time
