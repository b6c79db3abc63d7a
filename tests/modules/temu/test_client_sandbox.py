"""Every client endpoint over real HTTP against the sandbox served by uvicorn."""

from __future__ import annotations

import pytest

from jobwerk.modules.temu.client import (
    SECRET_KEYS,
    BusinessError,
    ExchangeRecord,
    OrderSendInfo,
    OrderStatus,
    ShipmentPackage,
    SkuStatus,
    TemuClient,
    TimeWindow,
)
from jobwerk.modules.temu.sandbox import ParentOrder, SandboxServer, TemuSandbox
from tests.support.temu import ClientFactory


def _unshipped(sandbox: TemuSandbox) -> ParentOrder:
    return next(o for o in sandbox.state.orders.values() if o.status == OrderStatus.UN_SHIPPING)


def _package(sandbox: TemuSandbox, order: ParentOrder, tracking: str) -> ShipmentPackage:
    infos = [
        OrderSendInfo(
            order.parent_order_sn, ln.order_sn, ln.quantity, ln.sku.goods_id, ln.sku.sku_id
        )
        for ln in order.lines
    ]
    dhl = 141252268
    return ShipmentPackage(dhl, tracking, sandbox.state.warehouses[0].warehouse_id, infos)


async def test_order_list_pages_to_the_end(temu_client: TemuClient, sandbox: TemuSandbox) -> None:
    orders = await temu_client.list_all_orders(page_size=7)
    assert len(orders) == len(sandbox.state.orders) == 60
    assert len({o.parent_order_map.parent_order_sn for o in orders}) == 60
    statuses = {o.parent_order_map.parent_order_status for o in orders}
    assert statuses == {1, 2, 3, 4, 41, 5, 51}
    assert any(len(o.order_list) > 1 for o in orders)
    assert any(line.quantity > 1 for o in orders for line in o.order_list)


async def test_order_list_filters_by_status_and_update_window(
    temu_client: TemuClient, sandbox: TemuSandbox
) -> None:
    now = sandbox.now()
    window = TimeWindow(now - 7 * 86_400, now)
    orders = await temu_client.list_all_orders(parent_order_status=2, updated=window)
    expected = [
        o for o in sandbox.state.orders.values()
        if o.status == 2 and window.start <= o.update_time <= window.end
    ]  # fmt: skip
    assert {o.parent_order_map.parent_order_sn for o in orders} == {
        o.parent_order_sn for o in expected
    }


async def test_detail_and_shipping_info_with_umlauts(
    temu_client: TemuClient, sandbox: TemuSandbox
) -> None:
    order = next(o for o in sandbox.state.orders.values() if o.status == 2 and o.region_id == 76)
    detail = await temu_client.get_order_detail(order.parent_order_sn)
    assert detail.parent_order_map.region_name1 == "Germany"
    assert [ln.order_sn for ln in detail.order_list] == [ln.order_sn for ln in order.lines]
    info = await temu_client.get_shipping_info(order.parent_order_sn)
    assert info.is_complete
    assert info.address_extra is not None
    assert info.address_extra.last_name == order.address.last_name
    assert info.address_line1 == order.address.street
    texts = "".join(a.address.street + a.address.last_name for a in sandbox.state.orders.values())
    assert any(ch in texts for ch in "äöüß")


async def test_pending_order_has_no_address(temu_client: TemuClient, sandbox: TemuSandbox) -> None:
    pending = next(o for o in sandbox.state.orders.values() if o.status == 1)
    info = await temu_client.get_shipping_info(pending.parent_order_sn)
    assert not info.is_complete


async def test_amount_query_with_scope(temu_client: TemuClient, sandbox: TemuSandbox) -> None:
    sandbox.grant_scope("bg.order.amount.query")
    order = _unshipped(sandbox)
    amount = await temu_client.get_order_amount(order.parent_order_sn)
    assert {ln.order_sn for ln in amount.order_list} == {ln.order_sn for ln in order.lines}
    line = amount.order_list[0]
    assert line.product_tax_rate == order.vat_percent * 1_000_000
    assert line.unit_retail_price_vat_incl is not None
    assert line.unit_retail_price_vat_incl.amount == order.lines[0].sku.price_cents


async def test_sku_list_reads_active_and_inactive(
    temu_client: TemuClient, sandbox: TemuSandbox
) -> None:
    skus = await temu_client.list_all_skus((SkuStatus.ACTIVE, SkuStatus.INACTIVE))
    assert len(skus) == len(sandbox.state.skus) == 250
    assert any(s.stock == 0 and s.status4_vo == 3 for s in skus)
    assert all(s.sku_sn and s.goods_id and s.sku_id for s in skus)


async def test_stock_edit_changes_stock(temu_client: TemuClient, sandbox: TemuSandbox) -> None:
    goods_id, skus = next((g, s) for g, s in sandbox.state.goods.items() if len(s) > 1)
    targets = {skus[0].sku_id: 0, skus[1].sku_id: 42}
    result = await temu_client.set_stock(goods_id, targets, request_unique_key="run-1-goods")
    assert result.ok
    assert sandbox.state.skus[skus[0].sku_id].stock == 0
    assert sandbox.state.skus[skus[0].sku_id].sub_status == 3003
    assert sandbox.state.skus[skus[1].sku_id].stock == 42
    page = await temu_client.list_skus(SkuStatus.ALL, extra={"skuIdList": [skus[1].sku_id]})
    assert page.sku_list[0].stock == 42


async def test_stock_edit_reports_per_sku_failures(
    temu_client: TemuClient, sandbox: TemuSandbox
) -> None:
    goods_id, skus = next(iter(sandbox.state.goods.items()))
    foreign = next(s for s in sandbox.state.skus.values() if s.goods_id != goods_id)
    result = await temu_client.set_stock(goods_id, {skus[0].sku_id: 5, foreign.sku_id: 5})
    assert not result.ok
    assert [f.sku_id for f in result.failures] == [foreign.sku_id]
    assert sandbox.state.skus[skus[0].sku_id].stock == 5


async def test_duplicate_request_key_is_rejected(
    temu_client: TemuClient, sandbox: TemuSandbox
) -> None:
    goods_id, skus = next(iter(sandbox.state.goods.items()))
    await temu_client.set_stock(goods_id, {skus[0].sku_id: 3}, request_unique_key="same")
    with pytest.raises(BusinessError) as caught:
        await temu_client.set_stock(goods_id, {skus[0].sku_id: 4}, request_unique_key="same")
    assert caught.value.error_code == 150_010_003


async def test_shipment_confirm_ships_and_rejects_reused_tracking(
    temu_client: TemuClient, sandbox: TemuSandbox
) -> None:
    first, second = [o for o in sandbox.state.orders.values() if o.status == 2][:2]
    await temu_client.confirm_shipment([_package(sandbox, first, "00340434123456789012")])
    assert sandbox.state.orders[first.parent_order_sn].status == OrderStatus.SHIPPED
    shipments = await temu_client.get_shipments(first.parent_order_sn, first.lines[0].order_sn)
    assert [s.tracking_number for s in shipments] == ["00340434123456789012"]
    assert shipments[0].quantity == first.lines[0].quantity

    with pytest.raises(BusinessError) as caught:
        await temu_client.confirm_shipment([_package(sandbox, second, "00340434123456789012")])
    assert caught.value.error_code == 120_014_004
    assert sandbox.state.orders[second.parent_order_sn].status == OrderStatus.UN_SHIPPING
    with pytest.raises(BusinessError) as again:
        await temu_client.confirm_shipment([_package(sandbox, first, "00340434999999999999")])
    assert again.value.error_code == 120_012_004


async def test_partial_shipment_moves_order_to_41(
    temu_client: TemuClient, sandbox: TemuSandbox
) -> None:
    order = next(o for o in sandbox.state.orders.values() if o.status == 2 and len(o.lines) > 1)
    package = _package(sandbox, order, "00340434000000000001")
    partial = ShipmentPackage(package.carrier_id, package.tracking_number,
                              package.warehouse_id, package.orders[:1])  # fmt: skip
    await temu_client.confirm_shipment([partial])
    assert sandbox.state.orders[order.parent_order_sn].status == OrderStatus.PARTIALLY_SHIPPED


async def test_carriers_warehouses_and_token_info(temu_client: TemuClient) -> None:
    carriers = await temu_client.list_logistics_companies(76)
    assert "DHL" in {c.logistics_service_provider_name for c in carriers}
    us = await temu_client.list_logistics_companies(211)
    assert {c.logistics_service_provider_name for c in us} >= {"UPS", "USPS", "FedEx"}
    warehouses = await temu_client.list_warehouses()
    assert sum(1 for w in warehouses if w.default_warehouse) == 1
    info = await temu_client.get_token_info()
    assert "bg.order.list.v2.get" in info.api_scope_list
    assert "bg.order.amount.query" not in info.api_scope_list
    assert info.expires_at_seconds is not None


async def test_wrong_region_gateway_is_refused(
    server: SandboxServer, client_factory: ClientFactory
) -> None:
    async with client_factory(base_url=server.router_url("us")) as us_client:
        with pytest.raises(BusinessError) as caught:
            await us_client.list_warehouses()
    assert caught.value.error_code == 120_011_072


async def test_audit_hook_sees_every_exchange_without_secrets(
    temu_client: TemuClient, exchanges: list[ExchangeRecord]
) -> None:
    await temu_client.get_token_info()
    await temu_client.list_orders(page_size=2)
    assert [r.api_type for r in exchanges] == [
        "bg.open.accesstoken.info.get",
        "bg.order.list.v2.get",
    ]
    for record in exchanges:
        assert not SECRET_KEYS & set(record.request_params)
        assert record.request_params["app_key"] == "sandbox-app-key"
        assert record.status_code == 200
        assert record.request_id and record.request_id.startswith("eu-")
        assert "sandbox-access-token" not in repr(record)
        assert "sandbox-app-secret" not in repr(record)
    assert exchanges[1].response_body["result"]["totalItemNum"] == 60
