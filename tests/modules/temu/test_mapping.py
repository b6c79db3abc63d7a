"""TEMU order payloads (TEMU's documented shapes) → JtlOrder → validated JTL import XML."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from jobwerk.modules.temu.jtl import LineKind, render_order_xml
from jobwerk.modules.temu.mapping import (
    OrderHeld,
    OrderMappingSettings,
    OrderNotImportable,
    map_order,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "temu"
PARENT = "PO-076-01234567890123456"


def _response(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return copy.deepcopy(data["response_example"]["result"])


def _euro(cents: int) -> dict[str, Any]:
    return {"currency": "EUR", "amount": cents}


def order_item() -> dict[str, Any]:
    """The documented order list entry with two SKUs (2 × and 3 ×) of one German order."""
    item: dict[str, Any] = _response("bg.order.list.v2.get")["pageItems"][0]
    parent = item["parentOrderMap"]
    parent.update(
        parentOrderSn=PARENT,
        parentOrderStatus=2,
        regionId=76,
        parentOrderTime=1767607200,  # 2026-01-05 10:00 UTC
        expectShipLatestTime=1767866400,
        orderPaymentType="PPD",
        hasShippingFee=True,
    )
    first = item["orderList"][0]
    first.update(
        orderSn="076-01234567890123456",
        orderStatus=2,
        skuId=50000000000001,
        quantity=2,
        originalOrderQuantity=2,
        canceledQuantityBeforeShipment=0,
        originalGoodsName="Küchenwaage",
        originalSpecName="weiß",
    )
    first["productList"][0]["extCode"] = "ART-100000"
    second = copy.deepcopy(first)
    second.update(
        orderSn="076-01234567890123457",
        skuId=50000000000002,
        quantity=3,
        originalOrderQuantity=4,
        canceledQuantityBeforeShipment=1,
        originalGoodsName="Gießkanne",
        originalSpecName="grün",
    )
    second["productList"][0]["extCode"] = "ART-100001"
    item["orderList"].append(second)
    return item


def shipping_info() -> dict[str, Any]:
    info = _response("bg.order.shippinginfo.v2.get")
    info.update(
        receiptName="Jörg Müller-Weiß",
        mail="relay-abc123@temu-relay.example",
        mobile="+49 30 1234567",
        regionName1="Germany",
        regionName2="Berlin",
        regionName3="Berlin",
        addressLine1="Straße des 17. Juni 135",
        addressLine2="Hinterhaus",
        addressLine3="",
        postCode="10623",
    )
    info["addressExtra"].update(firstName="Jörg", lastName="Müller-Weiß")
    return info


def amounts() -> dict[str, Any]:
    """Amounts for `order_item()`: 19.99 € and 5.00 € gross, 19 % VAT, 4.99 € shipping."""
    result = _response("bg.order.amount.query")
    totals = result["parentOrderMap"]
    for key in list(totals):
        if isinstance(totals[key], dict):
            totals[key] = _euro(0)
    totals.update(parentOrderSn=PARENT, shipAmountTotalTaxIncl=_euro(499), shipTaxAmount=_euro(80))
    template = result["orderList"][0]
    lines = []
    for order_sn, unit, quantity in (
        ("076-01234567890123456", 1999, 2),
        ("076-01234567890123457", 500, 3),
    ):
        line = copy.deepcopy(template)
        total = unit * quantity
        tax = round(total - total / Decimal("1.19"))
        line.update(
            orderSn=order_sn,
            quantity=quantity,
            unitRetailPriceVatIncl=_euro(unit),
            retailPriceTotalTaxIncl=_euro(total),
            productTaxAmount=_euro(int(tax)),
            productTaxRate=19_000_000,
            shipTaxRate=19_000_000,
            discountFromSeller=_euro(0),
            discountFromTEMU=_euro(0),
        )
        lines.append(line)
    result["orderList"] = list(reversed(lines))  # matched by orderSn, not by position
    return result


def test_the_sellers_discount_is_the_lines_rabatt_and_temus_is_left_out() -> None:
    payload = amounts()
    for line in payload["orderList"]:
        if line["orderSn"] == "076-01234567890123456":
            line.update(discountFromSeller=_euro(400), discountFromTEMU=_euro(600))

    order = map_order(order_item(), shipping_info(), payload)

    first, second = order.lines
    assert (first.unit_price_gross, first.discount) == (Decimal("19.99"), Decimal("10.01"))
    assert second.discount == 0
    xml = etree.fromstring(render_order_xml(order))
    assert [p.findtext("fRabatt") for p in xml.iter("twarenkorbpos")][:2] == ["10.01", "0.00"]


def test_multi_line_order_from_documented_payloads() -> None:
    order = map_order(order_item(), shipping_info(), amounts(), customer_number="10001")

    assert order.external_order_number == PARENT
    assert [(line.sku, line.quantity) for line in order.lines] == [
        ("ART-100000", Decimal(2)),
        ("ART-100001", Decimal(3)),
    ]
    assert [line.unit_price_gross for line in order.lines] == [Decimal("19.99"), Decimal("5.00")]
    assert {line.vat_rate for line in order.lines} == {Decimal("19.00")}
    assert order.lines[0].unit_price_net == Decimal("16.79832")
    assert order.lines[0].name == "Küchenwaage - weiß"
    assert order.shipping.kind is LineKind.SHIPPING
    assert order.shipping.unit_price_gross == Decimal("4.99")
    assert order.delivery_address.country == "DE"
    assert order.delivery_address.street == "Straße des 17. Juni 135"
    assert order.customer_number == "10001"
    assert order.currency == "EUR"
    assert order.warnings == ()


def test_mapped_order_renders_valid_xml_with_expected_values() -> None:
    xml = render_order_xml(map_order(order_item(), shipping_info(), amounts()))

    order = etree.fromstring(xml).find("tBestellung")
    assert order is not None
    assert order.findtext("cExterneBestellNr") == PARENT
    assert order.findtext("dErstellt") == "05.01.2026"
    positions = order.findall("twarenkorbpos")
    assert [p.findtext("cPosTyp") for p in positions] == ["standard", "standard", "versandkosten"]
    assert [p.findtext("fAnzahl") for p in positions] == ["2", "3", "1"]
    assert [p.findtext("fPreis") for p in positions] == ["19.99", "5.00", "4.99"]
    assert [p.findtext("fMwSt") for p in positions] == ["19.00", "19.00", "19.00"]
    assert order.findtext("tkunde/cNachname") == "Müller-Weiß"
    assert order.findtext("tlieferadresse/cAdressZusatz") == "Hinterhaus"


def test_without_amount_permission_temu_then_jtl_prices_are_used_with_a_warning() -> None:
    prices = {"ART-100000": Decimal("21.00")}
    erp = {"ART-100000": Decimal("1.00"), "ART-100001": Decimal("10.00")}

    order = map_order(
        order_item(), shipping_info(), None, fallback_unit_prices=prices, erp_net_prices=erp
    )

    assert [line.unit_price_gross for line in order.lines] == [Decimal("21.00"), Decimal("11.90")]
    assert order.shipping.unit_price_gross == 0
    assert any("ART-100000" in w and "TEMU's SKU list" in w for w in order.warnings)
    assert any("ART-100001" in w and "JTL article" in w for w in order.warnings)
    assert any("shipping fee" in w for w in order.warnings)


def test_a_line_without_any_price_holds_the_order() -> None:
    with pytest.raises(OrderHeld, match="ART-100001"):
        map_order(
            order_item(), shipping_info(), None, fallback_unit_prices={"ART-100000": Decimal(5)}
        )


def test_vat_follows_configured_country_rate() -> None:
    item = order_item()
    item["parentOrderMap"].update(regionId=13, parentOrderSn="PO-013-01234567890123456")
    settings = OrderMappingSettings(vat_rates={"AT": Decimal(20)})

    erp = {"ART-100000": Decimal(10), "ART-100001": Decimal(10)}
    order = map_order(item, shipping_info(), None, settings=settings, erp_net_prices=erp)

    assert order.delivery_address.country == "AT"
    assert {line.unit_price_gross for line in order.lines} == {Decimal(12)}
    assert {line.vat_rate for line in (*order.lines, order.shipping)} == {Decimal(20)}


def test_tax_rate_scale_mismatch_falls_back_to_the_amounts() -> None:
    payload = amounts()
    for line in payload["orderList"]:
        line["productTaxRate"] = 190_000_000  # ×10⁷ instead of ×10⁶

    order = map_order(order_item(), shipping_info(), payload)

    assert {line.vat_rate for line in order.lines} == {Decimal("19.00")}


def test_sku_list_mapping_takes_precedence_over_ext_code() -> None:
    skus = {50000000000001: "SKU-A", 50000000000002: "SKU-B"}

    order = map_order(order_item(), shipping_info(), amounts(), sku_by_sku_id=skus)

    assert [line.sku for line in order.lines] == ["SKU-A", "SKU-B"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"parentOrderStatus": 1}, "pending"),
        ({"parentOrderStatus": 3}, "cancelled"),
        ({"regionId": 999, "parentOrderSn": "PO-999-1"}, "regionId"),
    ],
)
def test_orders_that_cannot_be_imported_are_refused(change: dict[str, Any], reason: str) -> None:
    item = order_item()
    item["parentOrderMap"].update(change)

    with pytest.raises(OrderNotImportable, match=reason):
        map_order(item, shipping_info(), amounts())


def test_order_without_address_is_not_ready() -> None:
    info = shipping_info()
    info.update(addressLine1="", postCode="")

    with pytest.raises(OrderNotImportable, match="address"):
        map_order(order_item(), info, amounts())


def test_fully_cancelled_lines_are_skipped() -> None:
    item = order_item()
    item["orderList"][1]["quantity"] = 0

    order = map_order(item, shipping_info(), amounts())

    assert [line.sku for line in order.lines] == ["ART-100000"]


def test_non_latin1_buyer_name_is_transliterated_and_the_original_kept() -> None:
    info = shipping_info()
    info["addressExtra"].update(firstName="Łukasz", lastName="Wiśniewski")

    order = map_order(order_item(), info, amounts())
    xml = render_order_xml(order)

    assert order.originals == {"cVorname": "Łukasz", "cNachname": "Wiśniewski"}
    parsed = etree.fromstring(xml)
    assert parsed.findtext("tBestellung/tkunde/cVorname") == "Lukasz"
    assert parsed.findtext("tBestellung/tkunde/cNachname") == "Wisniewski"
    assert "Original in jobwerk" in (parsed.findtext("tBestellung/cBemerkung") or "")


@pytest.mark.parametrize(
    ("region", "first", "last", "street", "city", "latin"),
    [
        (79, "Γιώργος", "Παπαδόπουλος", "Οδός Ερμού 12", "Αθήνα",
         ("Giorgos", "Papadopoulos", "Odos Ermou 12", "Athina")),
        (52, "Ανδρέας", "Χριστοδούλου", "Λεωφόρος Μακαρίου 45", "Λευκωσία",
         ("Andreas", "Christodoulou", "Leoforos Makariou 45", "Lefkosia")),
        (32, "Иван", "Петров", "ул. Витоша 15", "София",
         ("Ivan", "Petrov", "ul. Vitosha 15", "Sofia")),
    ],
)  # fmt: skip
def test_greek_cypriot_and_bulgarian_buyers_reach_jtl_readable(
    region: int, first: str, last: str, street: str, city: str, latin: tuple[str, ...]
) -> None:
    item = order_item()
    item["parentOrderMap"].update(regionId=region, parentOrderSn=f"PO-{region:03d}-1234567890123")
    info = shipping_info()
    info["addressExtra"].update(firstName=first, lastName=last)
    info.update(addressLine1=street, regionName3=city, regionName2="")

    order = map_order(item, info, amounts())
    parsed = etree.fromstring(render_order_xml(order))

    customer = parsed.find("tBestellung/tkunde")
    assert customer is not None
    written = tuple(customer.findtext(tag) for tag in ("cVorname", "cNachname", "cStrasse", "cOrt"))
    assert written == latin
    assert order.originals == {"cVorname": first, "cNachname": last, "cStrasse": street,
                               "cOrt": city}  # fmt: skip
    assert not [w for w in order.warnings if "Latin form" in w or "TEMU sent no" in w]


def test_a_field_without_any_latin_form_or_missing_is_a_warning() -> None:
    info = shipping_info()
    info["addressExtra"].update(firstName="", lastName="🎉🎉")
    info.update(regionName3="")

    order = map_order(order_item(), info, amounts())

    assert any("cNachname" in w and "no Latin form" in w for w in order.warnings)
    assert any("cOrt" in w and "TEMU sent no" in w for w in order.warnings)
