"""Sandbox handlers for carriers, warehouses, shipment confirm/get and token info."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from ._catalog import carriers_for_region
from ._data import Carrier, OrderLine, ParentOrder, TokenGrant
from ._envelope import SandboxError
from ._state import SandboxState

__all__ = ["LOGISTICS_HANDLERS", "token_info"]

_CLEAN = re.compile(r"^[A-Za-z0-9]+$")
_INVALID_ORDER = (
    "The parentOrder or Order is invalid. Please check if the parentOrder matches the Order, "
    "the parentOrder or Order is nonexistent etc."
)


def companies(state: SandboxState, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``bg.logistics.companies.get``: ``result`` is an array for the ``regionId``."""
    if params.get("regionId") is None:
        raise SandboxError(3_000_000, "regionId is required")
    return [
        {"logisticsServiceProviderId": c.carrier_id, "logisticsServiceProviderName": c.name,
         "logisticsBrandName": c.brand}
        for c in carriers_for_region(int(params["regionId"]))
    ]  # fmt: skip


def warehouses(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """``bg.logistics.warehouse.list.get``: ``result.warehouseList``."""
    return {"warehouseList": [
        {"warehouseId": w.warehouse_id, "warehouseName": w.name, "warehouseBrand": w.brand,
         "warehouseManagementType": 1, "regionId1": w.region_id, "defaultWarehouse": w.default,
         "enableBuyShippingLabel": False}
        for w in state.warehouses
    ]}  # fmt: skip


def _carrier(region_id: int, carrier_id: Any) -> Carrier:
    for carrier in carriers_for_region(region_id):
        if carrier.carrier_id == carrier_id:
            return carrier
    raise SandboxError(120_014_022, "Incorrect trackingNumber/carrierId. Please check and retry.")


def _check_tracking(state: SandboxState, raw: Any, carrier: Carrier, seen: set[str]) -> str:
    tracking = "" if raw is None else str(raw)
    if not tracking.strip():
        raise SandboxError(120_014_001, "Tracking number is blank.")
    if not _CLEAN.match(tracking):
        raise SandboxError(
            120_014_020,
            "Delivery failed because the tracking number cannot be "
            "recognized. Please delete specific symbol such as -, %, # etc.",
        )
    if not re.match(carrier.tracking_pattern, tracking):
        raise SandboxError(
            120_014_022, "Incorrect trackingNumber/carrierId. Please check and retry."
        )
    if tracking in state.used_tracking:
        raise SandboxError(120_014_004, "Tracking number has been used")
    if tracking in seen:
        raise SandboxError(120_014_003, "Duplicate tracking number")
    seen.add(tracking)
    return tracking


def _check_line(state: SandboxState, info: Any) -> tuple[ParentOrder, OrderLine, int]:
    if not isinstance(info, dict):
        raise SandboxError(3_000_000, "orderSendInfoList entries must be objects")
    order = state.orders.get(str(info.get("parentOrderSn")))
    line = (
        next((ln for ln in order.lines if ln.order_sn == info.get("orderSn")), None)
        if order
        else None
    )
    if order is None or line is None:
        raise SandboxError(120_012_007, _INVALID_ORDER)
    if line.status in (4, 5) or order.status in (4, 5, 51):
        raise SandboxError(
            120_012_004,
            "The order has been shipped. This submission is not effective for the shipped order.",
        )
    if "pending_buyer_cancellation" in order.labels:
        raise SandboxError(120_012_030, "Order cancel pending. Please process before shipping.")
    if order.status not in (2, 41) or line.status != 2:
        raise SandboxError(120_012_016, _INVALID_ORDER)
    return order, line, int(info.get("quantity") or 0)


def _check_package(state: SandboxState, package: Any, seen: set[str]) -> dict[str, Any]:
    if not isinstance(package, dict):
        raise SandboxError(3_000_000, "sendRequestList entries must be objects")
    warehouse_id = package.get("selfShippingWarehouseId")
    if not warehouse_id:
        raise SandboxError(120_015_527, "Missing required parameter selfShippingWarehouseId")
    if warehouse_id not in {w.warehouse_id for w in state.warehouses}:
        raise SandboxError(120_011_085, "selfShippingWarehouseId is invalid, please have a check")
    infos = package.get("orderSendInfoList") or []
    lines = [_check_line(state, info) for info in infos]
    if not lines:
        raise SandboxError(120_012_007, _INVALID_ORDER)
    carrier = _carrier(lines[0][0].region_id, package.get("carrierId"))
    tracking = _check_tracking(state, package.get("trackingNumber"), carrier, seen)
    subs = []
    for sub in package.get("subSendRequests") or []:
        # Each parcel names its own carrier; its tracking number must match that carrier.
        own = _carrier(lines[0][0].region_id, sub.get("carrierId"))
        subs.append((own.carrier_id, _check_tracking(state, sub.get("trackingNumber"), own, seen)))
    return {"lines": lines, "carrier": carrier, "tracking": tracking, "warehouse": warehouse_id,
            "subs": subs}  # fmt: skip


def _check_quantities(send_type: int, packages: list[dict[str, Any]]) -> None:
    sent: dict[str, int] = defaultdict(int)
    parents: dict[str, ParentOrder] = {}
    lines: dict[str, OrderLine] = {}
    for package in packages:
        for order, line, qty in package["lines"]:
            sent[line.order_sn] += qty
            parents[order.parent_order_sn], lines[line.order_sn] = order, line
    for order_sn, qty in sent.items():
        if qty != lines[order_sn].quantity:
            raise SandboxError(
                2_000_000,
                f"Order {order_sn}: quantity {qty} must equal the "
                f"order quantity {lines[order_sn].quantity} (ship all at once)",
            )
    if send_type == 0 and (len(packages) != 1 or len(parents) != 1):
        raise SandboxError(3_000_000, "sendType 0 ships one parent order in one package")
    if send_type == 2:
        for order in parents.values():
            if any(ln.status == 2 and ln.order_sn not in sent for ln in order.lines):
                raise SandboxError(
                    120_015_539,
                    "Combination failed: all orders of a parent order must ship together.",
                )


def shipment_confirm(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """``bg.logistics.shipment.v2.confirm``: validate everything first, then ship atomically."""
    send_type = params.get("sendType")
    if send_type not in (0, 1, 2):
        raise SandboxError(3_000_000, "sendType must be 0, 1 or 2")
    requests = params.get("sendRequestList")
    if not isinstance(requests, list) or not requests:
        raise SandboxError(3_000_000, "sendRequestList is required")
    seen: set[str] = set()
    packages = [_check_package(state, p, seen) for p in requests]
    _check_quantities(int(send_type), packages)
    now = state.now()
    for package in packages:
        by_parent: dict[str, list[tuple[OrderLine, int]]] = defaultdict(list)
        for order, line, qty in package["lines"]:
            by_parent[order.parent_order_sn].append((line, qty))
        for parent_sn, shipped in by_parent.items():
            state.record_shipment(
                state.orders[parent_sn],
                shipped,
                package["carrier"].carrier_id,
                package["tracking"],
                package["warehouse"],
                now,
                package["subs"],
            )
    for order in {o.parent_order_sn: o for p in packages for o, _, _ in p["lines"]}.values():
        if order.status == 4:
            state.schedule_delivery(order)
    return {"assistantAgreementText": "", "warningMessage": []}


def shipment_get(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """``bg.logistics.shipment.v2.get``: the recorded packages of one order line."""
    order = state.orders.get(str(params.get("parentOrderSn")))
    order_sn = params.get("orderSn")
    if order is None or all(ln.order_sn != order_sn for ln in order.lines):
        raise SandboxError(120_012_007, _INVALID_ORDER)
    names = {c.carrier_id: c.name for c in carriers_for_region(order.region_id)}
    return {"shipmentInfoDTO": [
        {"carrierId": s.carrier_id, "carrierName": names.get(s.carrier_id, ""),
         "trackingNumber": s.tracking_number, "skuId": s.sku_id, "quantity": s.quantity,
         "packageSn": s.package_sn, "packageDeliveryType": 1, "trackingWarningLabel": 0,
         "cooperativeWarehouseDTO": {"warehouseProviderBrandName": "", "warehouseName": "",
                                     "warehouseProviderCode": "", "warehouseCode": ""},
         "subPackageShipmentInfoList": [
             {"packageSn": s.package_sn, "packageDeliveryType": 1, "carrierId": cid,
              "carrierName": names.get(cid, ""), "trackingNumber": number}
             for cid, number in s.sub_tracking
         ]}
        for s in state.shipments.get(str(order_sn), [])
    ]}  # fmt: skip


def token_info(state: SandboxState, token: TokenGrant) -> dict[str, Any]:
    """``bg.open.accesstoken.info.get`` for the calling token."""
    return {
        "mallId": token.mall_id, "regionId": 76 if token.region == "eu" else 211,
        "mallType": 1, "expiredTime": token.expires_at,
        "semiUniqueId": f"sandbox-{token.mall_id}", "apiScopeList": sorted(token.scopes),
        "authEventCodeList": [{"eventCode": "bg_order_status_change_event", "permitsStatus": 1}],
        "appSubscribeEventCodeList": [], "appSubscribeStatus": 0,
    }  # fmt: skip


LOGISTICS_HANDLERS = {
    "bg.logistics.companies.get": companies,
    "bg.logistics.warehouse.list.get": warehouses,
    "bg.logistics.shipment.v2.confirm": shipment_confirm,
    "bg.logistics.shipment.v2.get": shipment_get,
}
