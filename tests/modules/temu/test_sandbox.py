"""The sandbox as a server: gateway checks, documented shapes, lifecycle and control API."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from jobwerk.modules.temu.client import sign_request
from jobwerk.modules.temu.sandbox import SandboxServer, TemuSandbox
from jobwerk.modules.temu.sandbox._api_orders import order_amount
from tests.support.temu import ACCESS_TOKEN, APP_KEY, APP_SECRET, DocExample


def _body(api_type: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": api_type, "app_key": APP_KEY, "access_token": ACCESS_TOKEN,
        "timestamp": int(time.time()), "data_type": "JSON", **params,
    }  # fmt: skip
    body["sign"] = sign_request(APP_SECRET, body)
    return body


def _post(server: SandboxServer, body: Any, region: str | None = None) -> dict[str, Any]:
    response = httpx.post(server.router_url(region), json=body)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def _shape(value: Any) -> Any:
    """Key tree of a JSON value: dict keys recursively, lists by their first element."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def _sample_params(sandbox: TemuSandbox) -> dict[str, dict[str, Any]]:
    order = next(o for o in sandbox.state.orders.values() if o.status == 4)
    goods_id, skus = next(iter(sandbox.state.goods.items()))
    return {
        "bg.order.list.v2.get": {"pageSize": 3},
        "bg.order.detail.v2.get": {"parentOrderSn": order.parent_order_sn},
        "bg.order.shippinginfo.v2.get": {"parentOrderSn": order.parent_order_sn},
        "bg.order.amount.query": {"parentOrderSn": order.parent_order_sn},
        "bg.local.goods.sku.list.query": {"skuStatusFilterType": 1, "pageSize": 2},
        "bg.local.goods.stock.edit": {
            "goodsId": goods_id,
            "skuStockTargetList": [{"skuId": skus[0].sku_id, "stockTarget": 9}],
        },
        "bg.logistics.companies.get": {"regionId": 76},
        "bg.logistics.warehouse.list.get": {},
        "bg.logistics.shipment.v2.get": {
            "parentOrderSn": order.parent_order_sn, "orderSn": order.lines[0].order_sn,
        },
        "bg.open.accesstoken.info.get": {},
    }  # fmt: skip


def _keys_match(doc: Any, ours: Any) -> bool:
    if isinstance(doc, dict):
        return isinstance(ours, dict) and doc.keys() == ours.keys() and all(
            _keys_match(doc[k], ours[k]) for k in doc
        )  # fmt: skip
    if isinstance(doc, list) and doc and ours:
        return _keys_match(doc[0], ours[0])
    return True


def test_answers_in_the_documented_shapes(
    server: SandboxServer, sandbox: TemuSandbox, doc_example: DocExample
) -> None:
    sandbox.grant_scope("bg.order.amount.query")
    for api_type, params in _sample_params(sandbox).items():
        answer = _post(server, _body(api_type, **params))
        assert answer["success"] is True, (api_type, answer)
        assert answer["errorCode"] == 1_000_000
        assert answer["requestId"].startswith("eu-")
        documented = _shape(doc_example(api_type)["response_example"]["result"])
        assert _keys_match(documented, _shape(answer["result"])), api_type


def test_confirm_answers_in_the_documented_shape(
    server: SandboxServer, sandbox: TemuSandbox, doc_example: DocExample
) -> None:
    order = next(o for o in sandbox.state.orders.values() if o.status == 2)
    infos = [{"parentOrderSn": order.parent_order_sn, "orderSn": ln.order_sn,
              "quantity": ln.quantity} for ln in order.lines]  # fmt: skip
    package = {"carrierId": 141252268, "trackingNumber": "JJD000390007774444444",
               "selfShippingWarehouseId": sandbox.state.warehouses[0].warehouse_id,
               "orderSendInfoList": infos}  # fmt: skip
    answer = _post(server, _body("bg.logistics.shipment.v2.confirm", sendType=0,
                                 sendRequestList=[package]))  # fmt: skip
    assert answer["success"], answer
    documented = doc_example("bg.logistics.shipment.v2.confirm")["response_example"]["result"]
    assert answer["result"].keys() == documented.keys()


Mutate = Callable[[dict[str, Any]], None]
GATEWAY_CASES: list[tuple[str, Mutate, int]] = [
    ("no type", lambda b: b.pop("type"), 3_000_002),
    ("unknown type", lambda b: b.update(type="bg.nope"), 3_000_003),
    ("retired v1", lambda b: b.update(type="bg.order.list.get"), 3_000_004),
    ("no app_key", lambda b: b.pop("app_key"), 3_000_025),
    ("bad app_key", lambda b: b.update(app_key="x"), 3_000_026),
    ("no token", lambda b: b.pop("access_token"), 3_000_030),
    ("bad token", lambda b: b.update(access_token="x"), 3_000_031),
    ("no timestamp", lambda b: b.pop("timestamp"), 3_000_010),
    ("future", lambda b: b.update(timestamp=int(time.time()) + 900), 3_000_011),
    ("milliseconds", lambda b: b.update(timestamp=int(time.time() * 1000)), 3_000_011),
    ("expired", lambda b: b.update(timestamp=int(time.time()) - 900), 3_000_012),
    ("no data_type", lambda b: b.pop("data_type"), 3_000_013),
    ("xml", lambda b: b.update(data_type="XML"), 3_000_014),
]


@pytest.mark.parametrize(
    ("case", "mutate", "code"), GATEWAY_CASES, ids=[c[0] for c in GATEWAY_CASES]
)
def test_gateway_checks(server: SandboxServer, case: str, mutate: Mutate, code: int) -> None:
    body = _body("bg.order.list.v2.get")
    body.pop("sign")
    mutate(body)
    body["sign"] = sign_request(APP_SECRET, body)
    answer = _post(server, body)
    assert (answer["success"], answer["errorCode"]) == (False, code)
    assert "result" not in answer


def test_signature_checks(server: SandboxServer) -> None:
    body = _body("bg.order.list.v2.get", pageSize=5)
    assert _post(server, {**body, "pageSize": 6})["errorCode"] == 3_000_001
    del body["sign"]
    assert _post(server, body)["errorCode"] == 3_000_040
    assert _post(server, ["not", "an", "object"])["errorCode"] == 3_000_000


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"updateAtStart": 1}, 140_020_013),
        ({"createAfter": 1, "createBefore": 1_767_225_600_000}, 140_020_014),
        ({"updateAtStart": 10, "updateAtEnd": 5}, 140_020_012),
    ],
)
def test_order_list_time_pairs(server: SandboxServer, params: dict[str, int], code: int) -> None:
    assert _post(server, _body("bg.order.list.v2.get", **params))["errorCode"] == code


def test_orders_move_with_the_clock(sandbox: TemuSandbox) -> None:
    pending = [o for o in sandbox.state.orders.values() if o.status == 1]
    shipped = [o for o in sandbox.state.orders.values() if o.status == 4]
    assert pending and shipped
    before = {o.parent_order_sn: o.update_time for o in pending}
    sandbox.advance(sandbox.config.delivery_seconds + 3_600)
    assert all(o.status == 2 for o in pending)
    assert all(o.update_time > before[o.parent_order_sn] for o in pending)
    assert all(o.status == 5 for o in shipped)


def test_same_seed_same_shop() -> None:
    first = TemuSandbox(seed=9, orders=30, skus=50, start_time=1_767_225_600)
    second = TemuSandbox(seed=9, orders=30, skus=50, start_time=1_767_225_600)
    assert list(first.state.orders) == list(second.state.orders)
    assert [o.address for o in first.state.orders.values()] == [
        o.address for o in second.state.orders.values()
    ]


def test_big_seed_is_complete() -> None:
    sandbox = TemuSandbox(seed=2, orders=10_000, skus=100_000)
    assert len(sandbox.state.orders) == 10_000
    assert len(sandbox.state.skus) == 100_000
    assert len({o.parent_order_sn for o in sandbox.state.orders.values()}) == 10_000


def test_control_api(server: SandboxServer, sandbox: TemuSandbox) -> None:
    base = server.url
    assert httpx.get(f"{base}/_sandbox/health").json()["orders"] == 60
    created = httpx.post(f"{base}/_sandbox/orders", json={"status": 2})
    assert created.status_code == 201
    sn = created.json()["parentOrderMap"]["parentOrderSn"]
    assert (
        httpx.get(f"{base}/_sandbox/orders/{sn}").json()["parentOrderMap"]["parentOrderStatus"] == 2
    )
    assert (
        httpx.post(f"{base}/_sandbox/orders/{sn}/cancel").json()["parentOrderMap"][
            "parentOrderStatus"
        ]
        == 3
    )
    assert httpx.get(f"{base}/_sandbox/orders/PO-000-missing").status_code == 404
    sku_id = next(iter(sandbox.state.skus))
    assert httpx.get(f"{base}/_sandbox/skus/{sku_id}").json()["skuId"] == sku_id
    fault = {"kind": "system_error", "api_type": "bg.order.list.v2.get", "count": 1}
    assert len(httpx.post(f"{base}/_sandbox/faults", json=fault).json()["faults"]) == 1
    assert _post(server, _body("bg.order.list.v2.get"))["errorCode"] == 4_000_000
    assert _post(server, _body("bg.order.list.v2.get"))["success"] is True
    assert httpx.post(f"{base}/_sandbox/faults", json={"kind": "nope"}).status_code == 422
    assert httpx.delete(f"{base}/_sandbox/faults").json() == {"faults": []}
    now = sandbox.now()
    assert httpx.post(f"{base}/_sandbox/advance", json={"seconds": 60}).json() == {"now": now + 60}


def test_the_seeded_shop_sells_in_every_eu_market_with_native_scripts() -> None:
    sandbox = TemuSandbox(seed=3, orders=3_000, skus=50)
    regions = {order.region_id for order in sandbox.state.orders.values()}
    assert {13, 20, 32, 50, 52, 53, 54, 64, 68, 69, 76, 79, 90, 96, 98, 108, 113, 114, 122,
            141, 162, 163, 167, 180, 181, 186, 191} <= regions  # fmt: skip
    names = {o.address.last_name for o in sandbox.state.orders.values()}
    assert any("\u0370" <= c <= "\u03ff" for name in names for c in name)  # Greek
    assert any("\u0400" <= c <= "\u04ff" for name in names for c in name)  # Cyrillic
    assert any("\n" in o.address.addition for o in sandbox.state.orders.values())


def test_orders_move_temu_stock_and_every_change_is_in_the_history(
    server: SandboxServer, sandbox: TemuSandbox
) -> None:
    base = server.url
    sku = next(s for s in sandbox.state.skus.values() if s.stock > 5)
    before = sku.stock
    created = httpx.post(f"{base}/_sandbox/orders", json={"status": 2, "skuIds": [sku.sku_id]})
    sn = created.json()["parentOrderMap"]["parentOrderSn"]
    ordered = sum(line.quantity for line in sandbox.state.orders[sn].lines)
    assert sku.stock == before - ordered

    httpx.post(f"{base}/_sandbox/orders/{sn}/cancel")

    assert sku.stock == before
    history = httpx.get(f"{base}/_sandbox/skus/{sku.sku_id}/history").json()["history"]
    assert [(h["old"], h["new"], h["cause"]) for h in history] == [
        (before, before - ordered, f"order {sn}"),
        (before - ordered, before, f"cancel {sn}"),
    ]


def test_units_cancelled_from_one_line_go_back_to_stock_and_the_order_stays(
    server: SandboxServer, sandbox: TemuSandbox
) -> None:
    base = server.url
    order = next(
        o for o in sandbox.state.orders.values()
        if o.status == 2 and len(o.lines) >= 2 and all(line.status == 2 for line in o.lines)
    )  # fmt: skip
    line = order.lines[0]
    before, units = line.sku.stock, line.quantity
    path = f"{base}/_sandbox/orders/{order.parent_order_sn}/lines/{line.order_sn}/cancel"

    assert httpx.post(path, json={"units": units + 1}).status_code == 409
    answer = httpx.post(path, json={"units": units})

    assert answer.status_code == 200, answer.text
    assert (line.sku.stock, line.status, order.status) == (before + units, 3, 2)
    listed = httpx.post(path, json={"units": 1})
    assert listed.status_code == 409  # nothing left to cancel on that line


def test_control_api_arms_refusals_changes_addresses_and_scopes(
    server: SandboxServer, sandbox: TemuSandbox
) -> None:
    base = server.url
    sn = next(o.parent_order_sn for o in sandbox.state.orders.values() if o.status == 2)
    refusal = {"api_type": "bg.order.shippinginfo.v2.get", "code": 180020008,
               "message": "Please sign on DPA agreement first"}  # fmt: skip
    assert httpx.post(f"{base}/_sandbox/orders/{sn}/refusals", json=refusal).status_code == 200
    answer = _post(server, _body("bg.order.shippinginfo.v2.get", parentOrderSn=sn))
    assert (answer["success"], answer["errorCode"]) == (False, 180020008)
    httpx.post(f"{base}/_sandbox/orders/{sn}/refusals", json={**refusal, "armed": False})
    assert _post(server, _body("bg.order.shippinginfo.v2.get", parentOrderSn=sn))["success"]
    missing = httpx.post(f"{base}/_sandbox/orders/PO-000-missing/refusals", json=refusal)
    assert missing.status_code == 404

    moved = httpx.post(f"{base}/_sandbox/orders/{sn}/address", json={"city": "Λάρισα"})
    assert moved.json()["parentOrderMap"]["regionName3"] == "Λάρισα"
    shipped = next(o.parent_order_sn for o in sandbox.state.orders.values() if o.status == 4)
    assert httpx.post(f"{base}/_sandbox/orders/{shipped}/address", json={}).status_code == 409

    amount = "bg.order.amount.query"
    scopes = httpx.post(f"{base}/_sandbox/scopes", json={"api_type": amount, "granted": True})
    assert amount in scopes.json()["scopes"]
    assert _post(server, _body(amount, parentOrderSn=sn))["success"]
    httpx.post(f"{base}/_sandbox/scopes", json={"api_type": amount, "granted": False})
    assert _post(server, _body(amount, parentOrderSn=sn))["errorCode"] == 3_000_032


def test_withheld_scopes_leave_the_default_token() -> None:
    shop = TemuSandbox(seed=3, orders=0, skus=5, amount_scope=True,
                       withheld_scopes={"bg.local.goods.stock.edit"})  # fmt: skip
    scopes = shop.state.tokens[shop.config.access_token].scopes
    assert "bg.order.amount.query" in scopes
    assert "bg.local.goods.stock.edit" not in scopes
    assert "bg.order.list.v2.get" in scopes


def test_amounts_carry_seller_and_temu_discounts_and_orders_carry_labels() -> None:
    shop = TemuSandbox(seed=3, orders=300, skus=50, amount_scope=True)
    amounts = [order_amount(shop.state, {"parentOrderSn": sn}) for sn in shop.state.orders]
    totals = [a["parentOrderMap"] for a in amounts]
    assert any(t["discountFromSeller"]["amount"] > 0 for t in totals)
    assert any(t["discountFromTEMU"]["amount"] > 0 for t in totals)
    for t in totals:
        paid = (t["retailPriceTotalTaxIncl"]["amount"] + t["shipAmountTotalTaxIncl"]["amount"]
                - t["discountFromSeller"]["amount"] - t["discountFromTEMU"]["amount"])  # fmt: skip
        assert t["customerPaid"]["amount"] == paid
    assert any(o.labels for o in shop.state.orders.values())
