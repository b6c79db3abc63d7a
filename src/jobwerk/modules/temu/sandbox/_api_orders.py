"""Sandbox handlers for ``bg.order.*``, answering in the shapes of TEMU's documented examples."""

from __future__ import annotations

from functools import partial
from typing import Any

from ._data import OrderLine, ParentOrder
from ._envelope import SandboxError
from ._state import SandboxState

__all__ = ["ORDER_HANDLERS", "render_order"]

_TIME_PAIRS = (
    ("createAfter", "createBefore", "created_at"),
    ("updateAtStart", "updateAtEnd", "update_time"),
    ("parentConfirmTimeStart", "parentConfirmTimeEnd", "pending_until"),
    ("expectShipLatestTimeStart", "expectShipLatestTimeEnd", "ship_by"),
)


def _labels(order: ParentOrder) -> list[dict[str, Any]]:
    names = ("soon_to_be_overdue", "past_due", "pending_buyer_cancellation",
             "pending_buyer_address_change", "pending_risk_control_alert",
             "signature_required_on_delivery")  # fmt: skip
    return [{"name": n, "value": int(n in order.labels)} for n in names]


def _parent_map(order: ParentOrder, detail: bool) -> dict[str, Any]:
    confirmed = order.pending_until if order.status != 1 else 0
    result: dict[str, Any] = {
        "parentOrderSn": order.parent_order_sn, "parentOrderStatus": order.status,
        "parentOrderTime": order.created_at, "parentOrderPendingFinishTime": order.pending_until,
        "parentConfirmTime": confirmed, "expectShipLatestTime": order.ship_by,
        "latestDeliveryTime": order.ship_by + 7 * 86_400,
        "parentShippingTime": order.shipped_at or 0, "regionId": order.region_id,
        "siteId": order.site_id, "parentOrderLabel": _labels(order), "fulfillmentWarning": [],
        "hasShippingFee": order.shipping_cents > 0, "orderPaymentType": "PPD",
        "shippingMethod": 1, "batchOrderNumberList": [],
    }  # fmt: skip
    if detail:
        addr = order.address
        result.update(regionName1=addr.country, regionName2=addr.state, regionName3=addr.city)
        result["paymentInfo"] = [{"paymentMethod": "CARD", "paymentProcessorRegister": "",
                                  "paymentCardBrand": "VISA", "paymentAuthCode": ""}]  # fmt: skip
    else:
        result["updateTime"] = order.update_time
    return result


def _line(order: ParentOrder, line: OrderLine, warehouse_id: str, detail: bool) -> dict[str, Any]:
    sku = line.sku
    result: dict[str, Any] = {
        "orderSn": line.order_sn, "orderStatus": line.status, "goodsId": sku.goods_id,
        "skuId": sku.sku_id, "quantity": line.quantity,
        "originalOrderQuantity": line.original_quantity,
        "canceledQuantityBeforeShipment": line.canceled_quantity,
        "goodsName": sku.goods_name, "spec": sku.spec_name,
        "originalGoodsName": sku.goods_name, "originalSpecName": sku.spec_name,
        "thumbUrl": f"https://img.sandbox.temu.local/{sku.goods_id}.jpg",
        "productList": [{"productId": sku.goods_id, "productSkuId": sku.sku_id,
                         "soldFactor": 1, "extCode": sku.sku_sn}],
        "orderLabel": [], "fulfillmentType": "fulfillBySeller", "fulfillmentWarning": [],
        "inventoryDeductionWarehouseId": warehouse_id,
        "inventoryDeductionWarehouseName": "Zentrallager Görlitz",
        "isCancelledDuringPending": line.status == 3 and order.status == 3,
        "orderCreateTime": order.created_at, "orderShippingTime": line.shipped_at or 0,
        "orderPaymentType": "PPD", "qualificationUploadEndTime": 0,
        "packageAbnormalTypeList": [],
    }  # fmt: skip
    if detail:
        result["packageSnInfo"] = [
            {"packageSn": sn, "packageDeliveryType": 1, "callSuccess": True} for sn in line.packages
        ]
        result["hasUploadedEvidence"] = False
    return result


def render_order(state: SandboxState, order: ParentOrder, detail: bool = False) -> dict[str, Any]:
    """A parent order as ``{parentOrderMap, orderList}`` (list or detail flavour)."""
    warehouse_id = state.warehouses[0].warehouse_id
    return {
        "parentOrderMap": _parent_map(order, detail),
        "orderList": [_line(order, ln, warehouse_id, detail) for ln in order.lines],
    }


def _int_param(params: dict[str, Any], key: str, default: int) -> int:
    value = params.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SandboxError(3_000_000, f"{key} must be an integer") from None


def _time_filters(params: dict[str, Any]) -> list[tuple[str, int, int]]:
    filters = []
    for start_key, end_key, attr in _TIME_PAIRS:
        start, end = params.get(start_key), params.get(end_key)
        if start is None and end is None:
            continue
        if start is None or end is None:
            raise SandboxError(
                140_020_013, f"{start_key if start is None else end_key} not passed in"
            )
        start, end = _int_param(params, start_key, 0), _int_param(params, end_key, 0)
        for key, value in ((start_key, start), (end_key, end)):
            if value > 10**11:
                raise SandboxError(140_020_014, f"The format of {key} is inaccurate and requires "
                                   "a second level timestamp")  # fmt: skip
        if end < start:
            raise SandboxError(140_020_012, f"{end_key} needs to be greater than the {start_key}")
        filters.append((attr, start, end))
    return filters


def _matches(order: ParentOrder, params: dict[str, Any], times: list[tuple[str, int, int]]) -> bool:
    status = params.get("parentOrderStatus") or 0
    if status and order.status != int(status):
        return False
    region_id = params.get("regionId")
    if region_id and order.region_id != int(region_id):
        return False
    return all(start <= getattr(order, attr) <= end for attr, start, end in times)


def order_list(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """``bg.order.list.v2.get``: filter, sort descending, page (size default 10, capped at 100)."""
    times = _time_filters(params)
    page_number = max(1, _int_param(params, "pageNumber", 1))
    page_size = min(100, max(1, _int_param(params, "pageSize", 10)))
    sns = params.get("parentOrderSnList")
    if sns is not None and (not isinstance(sns, list) or len(sns) > 20):
        raise SandboxError(3_000_000, "parentOrderSnList must be a list of at most 20")
    pool = [state.orders[sn] for sn in sns if sn in state.orders] if sns else state.orders.values()
    hits = [o for o in pool if _matches(o, params, times)]
    key = "update_time" if params.get("sortby") == "updateTime" else "created_at"
    hits.sort(key=lambda o: (getattr(o, key), o.parent_order_sn), reverse=True)
    page = hits[(page_number - 1) * page_size : page_number * page_size]
    return {"totalItemNum": len(hits), "pageItems": [render_order(state, o) for o in page]}


def _find(state: SandboxState, params: dict[str, Any]) -> ParentOrder:
    order = state.orders.get(str(params.get("parentOrderSn") or ""))
    if order is None:
        raise SandboxError(140_020_002, "Order not found")
    return order


def order_detail(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """``bg.order.detail.v2.get``."""
    return render_order(state, _find(state, params), detail=True)


def shipping_info(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """``bg.order.shippinginfo.v2.get``: pending orders have no address (empty or an error)."""
    order = _find(state, params)
    a = order.address
    pending = order.status == 1
    if pending and state.config.pending_address == "error":
        raise SandboxError(180_020_003, "Invalid param")
    street, post_code = ("", "") if pending else (a.street, a.post_code)
    name = "" if pending else f"{a.first_name} {a.last_name}"
    parts = (street, a.addition, post_code, a.city, a.country)
    return {
        "receiptName": name, "receiptAdditionalName": "", "mobile": "" if pending else a.mobile,
        "backupMobile": "", "mail": a.mail, "regionName1": a.country, "regionName2": a.state,
        "regionName3": a.city, "regionName4": "", "addressLine1": street,
        "addressLine2": "" if pending else a.addition, "addressLine3": "",
        "addressLineAll": "" if pending else ", ".join(p for p in parts if p),
        "postCode": post_code, "taxCode": "", "taxCodeType": 0,
        "addressExtra": {"firstName": "" if pending else a.first_name,
                         "lastName": "" if pending else a.last_name, "additionalFirstName": "",
                         "additionalLastName": "", "contactlessDropPoint": ""},
        "warning": {"isRestriction": False, "reason": 0},
    }  # fmt: skip


def _money(currency: str, amount: int) -> dict[str, Any]:
    return {"currency": currency, "amount": amount}


def _discounts(line: OrderLine, gross: int) -> tuple[int, int]:
    """(seller's, TEMU's) discount of a line: some lines carry a seller promotion, some a TEMU
    coupon, some both — fixed by the order number, so every call answers the same."""
    serial = int(line.order_sn[-6:-2] or 0)
    seller = gross // 10 if serial % 7 == 0 else 0
    temu = gross * 15 // 100 if serial % 5 == 0 else 0
    return seller, temu


def _amount_line(order: ParentOrder, line: OrderLine, scale: int) -> dict[str, Any]:
    m = partial(_money, order.currency)
    gross = line.sku.price_cents * line.quantity
    seller, temu = _discounts(line, gross)
    net = round(gross * 100 / (100 + order.vat_percent))
    unit_net = round(line.sku.price_cents * 100 / (100 + order.vat_percent))
    return {
        "orderSn": line.order_sn, "quantity": line.quantity, "basePrice": m(net),
        "unitBasePrice": m(unit_net), "unitRetailPrice": m(line.sku.price_cents),
        "unitRetailPriceVatIncl": m(line.sku.price_cents), "unitRetailPriceVatExcl": m(unit_net),
        "retailPriceTotalTaxIncl": m(gross), "shipAmountTotalTaxIncl": m(0),
        "productTaxAmount": m(gross - net), "shipTaxAmount": m(0),
        "productTaxRate": order.vat_percent * scale, "shipTaxRate": order.vat_percent * scale,
        "discountFromSeller": m(seller), "discountFromTEMU": m(temu),
    }  # fmt: skip


def order_amount(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """``bg.order.amount.query``: money in minor units, tax rates × ``tax_rate_scale``."""
    order = _find(state, params)
    lines = [_amount_line(order, ln, state.config.tax_rate_scale) for ln in order.lines]
    m = partial(_money, order.currency)
    gross = sum(x["retailPriceTotalTaxIncl"]["amount"] for x in lines)
    tax = sum(x["productTaxAmount"]["amount"] for x in lines)
    ship = order.shipping_cents
    ship_net = round(ship * 100 / (100 + order.vat_percent))
    seller = sum(x["discountFromSeller"]["amount"] for x in lines)
    temu = sum(x["discountFromTEMU"]["amount"] for x in lines)
    parent = {
        "parentOrderSn": order.parent_order_sn, "basePriceTotal": m(gross - tax),
        "shippingAmountTotal": m(ship_net), "shipAmountTotalTaxIncl": m(ship),
        "taxTotal": m(tax + ship - ship_net), "taxTotalAfterDiscount": m(tax + ship - ship_net),
        "discountFromSeller": m(seller), "discountFromTEMU": m(temu), "refundsTotal": m(0),
        "estimatedRevenueDeduction": m(0), "estimatedRevenue": m(gross + ship - seller),
        "customerPaid": m(gross + ship - seller - temu), "totalDiscount": m(seller + temu),
        "retailPriceTotal": m(gross),
        "retailPriceTotalTaxIncl": m(gross), "retailPriceTotalTaxExcl": m(gross - tax),
        "productTaxAmount": m(tax), "shipTaxAmount": m(ship - ship_net), "temuTaxTotal": m(0),
    }  # fmt: skip
    return {"parentOrderMap": parent, "orderList": lines, "warning": []}


ORDER_HANDLERS = {
    "bg.order.list.v2.get": order_list,
    "bg.order.detail.v2.get": order_detail,
    "bg.order.shippinginfo.v2.get": shipping_info,
    "bg.order.amount.query": order_amount,
}
