"""The client parses every documented TEMU response example and sends only documented fields."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from jobwerk.modules.temu.client import (
    OrderSendInfo,
    ShipmentPackage,
    TemuClient,
    TimeWindow,
)

Call = Callable[[TemuClient], Awaitable[Any]]
COMMON = {"type", "app_key", "access_token", "timestamp", "data_type", "version", "sign"}

CALLS: dict[str, Call] = {
    "bg.order.list.v2.get": lambda c: c.list_orders(
        parent_order_status=2, updated=TimeWindow(1, 2), region_id=76
    ),
    "bg.order.detail.v2.get": lambda c: c.get_order_detail("PO-076-1"),
    "bg.order.shippinginfo.v2.get": lambda c: c.get_shipping_info("PO-076-1"),
    "bg.order.amount.query": lambda c: c.get_order_amount("PO-076-1"),
    "bg.local.goods.sku.list.query": lambda c: c.list_skus(2),
    "bg.local.goods.stock.edit": lambda c: c.set_stock(1, {1: 5}, request_unique_key="k"),
    "bg.logistics.companies.get": lambda c: c.list_logistics_companies(76),
    "bg.logistics.warehouse.list.get": lambda c: c.list_warehouses(buy_shipping_only=True),
    "bg.logistics.shipment.v2.confirm": lambda c: c.confirm_shipment(
        [ShipmentPackage(1, "T1", "WH-1", [OrderSendInfo("PO-1", "1", 1, 1, 1)])]
    ),
    "bg.logistics.shipment.v2.get": lambda c: c.get_shipments("PO-1", "1"),
    "bg.open.accesstoken.info.get": lambda c: c.get_token_info(),
}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


@pytest.mark.parametrize("api_type", sorted(CALLS))
async def test_client_parses_documented_example(
    api_type: str, doc_example: Callable[[str], dict[str, Any]]
) -> None:
    example = doc_example(api_type)
    # The examples carry the placeholder errorCode 1; a real success says 1000000.
    response = {**example["response_example"], "errorCode": 1_000_000}
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=response)

    transport = httpx.MockTransport(answer)
    async with TemuClient(
        app_key="k", app_secret="s", access_token="t", transport=transport, rate_limit=None
    ) as client:
        parsed = await CALLS[api_type](client)

    assert parsed is not None
    body = sent[0]
    assert body["type"] == api_type
    documented = set(example["request_example"]) | COMMON
    assert _keys(body) <= documented | _keys(example["request_example"])


async def test_companies_example_is_an_array_of_carriers(
    doc_example: Callable[[str], dict[str, Any]],
) -> None:
    example = doc_example("bg.logistics.companies.get")
    response = {**example["response_example"], "errorCode": 1_000_000}
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json=response))
    async with TemuClient(
        app_key="k", app_secret="s", access_token="t", transport=transport, rate_limit=None
    ) as client:
        carriers = await client.list_logistics_companies(76)
    assert [c.logistics_service_provider_id for c in carriers] == [1]
