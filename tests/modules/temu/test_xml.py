"""JTL order import XML: schema, element order, Latin-1 encoding and transliteration."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from jobwerk.modules.temu.jtl import (
    JtlAddress,
    JtlOrder,
    JtlOrderLine,
    JtlXmlInvalid,
    LineKind,
    render_order_documents,
    render_order_xml,
    to_latin1,
    validate_order_xml,
)

ADDRESS = JtlAddress(
    first_name="Jörg",
    last_name="Groß-Müßig",
    street="Hauptstraße 1",
    postcode="10115",
    city="Berlin",
    country="DE",
    email="relay@example.invalid",
)


def _order(**changes: object) -> JtlOrder:
    values: dict[str, object] = {
        "external_order_number": "PO-076-00000000000000001",
        "created_at": datetime(2026, 1, 5, 23, 30, tzinfo=UTC),
        "currency": "EUR",
        "customer": ADDRESS,
        "delivery_address": ADDRESS,
        "lines": (
            JtlOrderLine("Gießkanne grün", Decimal(2), Decimal("19.99"), Decimal(19), sku="A-1"),
            JtlOrderLine("Fußmatte", Decimal(1), Decimal("5.00"), Decimal(7), sku="A-2"),
        ),
        "shipping": JtlOrderLine(
            "Versandkosten", Decimal(1), Decimal("4.99"), Decimal(19), kind=LineKind.SHIPPING
        ),
        "shipping_method_name": "DHL Paket",
    }
    values.update(changes)
    return JtlOrder(**values)  # type: ignore[arg-type]


def test_document_is_latin1_with_declaration_and_valid() -> None:
    xml = render_order_xml(_order())

    assert xml.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<tBestellungen>')
    assert "Groß-Müßig".encode("iso-8859-1") in xml
    validate_order_xml(xml)


def test_umlauts_and_sharp_s_round_trip_through_latin1(tmp_path: Path) -> None:
    file = tmp_path / "order.xml"
    file.write_bytes(render_order_xml(_order()))

    parsed = etree.parse(str(file)).getroot()

    assert parsed.findtext("tBestellung/tkunde/cNachname") == "Groß-Müßig"
    assert parsed.findtext("tBestellung/tlieferadresse/cStrasse") == "Hauptstraße 1"
    assert parsed.findtext("tBestellung/twarenkorbpos/cName") == "Gießkanne grün"


def test_element_order_articles_before_customer() -> None:
    order = etree.fromstring(render_order_xml(_order())).find("tBestellung")
    assert order is not None

    tags = [child.tag for child in order]

    assert tags[:14] == [
        "cSprache", "cWaehrung", "cBestellNr", "cExterneBestellNr", "cVersandartName",
        "cVersandInfo", "dVersandDatum", "cTracking", "dLieferDatum", "cKommentar",
        "cBemerkung", "dErstellt", "cZahlungsartName", "dBezahltDatum",
    ]  # fmt: skip
    assert tags[14:] == [
        "twarenkorbpos", "twarenkorbpos", "twarenkorbpos", "tkunde", "tlieferadresse",
        "tzahlungsinfo",
    ]  # fmt: skip
    position = order.find("twarenkorbpos")
    assert position is not None
    assert [c.tag for c in position] == [
        "cName", "cArtNr", "cBarcode", "cEinheit", "fPreisEinzelNetto", "fPreis", "fMwSt",
        "fAnzahl", "cPosTyp", "fRabatt",
    ]  # fmt: skip
    assert (order.get("kFirma"), order.get("kBenutzer")) == ("1", "1")


def test_values_use_dots_vat_per_line_and_wawi_local_dates() -> None:
    order = etree.fromstring(render_order_xml(_order())).find("tBestellung")
    assert order is not None
    second = order.findall("twarenkorbpos")[1]

    assert second.findtext("fMwSt") == "7.00"
    assert second.findtext("fPreisEinzelNetto") == "4.67290"
    # 23:30 UTC is already the next day in Berlin, Wawi's local time.
    assert order.findtext("dErstellt") == "06.01.2026"


def test_transliteration_never_writes_question_marks() -> None:
    assert to_latin1("Łódź Szőke Dvořák Ștefan café ß") == "Lódz Szöke Dvorák Stefan café ß"
    assert to_latin1("Ελένη Γιώργος 🎉") == "Eleni Giorgos "
    xml = render_order_xml(_order(customer=JtlAddress(last_name="Čapek", country="CZ")))
    assert b"?" not in xml.split(b"?>", 1)[1]


@pytest.mark.parametrize(
    ("text", "latin"),
    [
        ("Αθήνα", "Athina"),
        ("Θεσσαλονίκη", "Thessaloniki"),
        ("Ευάγγελος Παπαδόπουλος", "Evangelos Papadopoulos"),
        ("Αύγουστος Ευθύμιος", "Avgoustos Efthymios"),
        ("Μπάμπης Ντίνος Γκόλφω", "Bampis Dinos Golfo"),
        ("Λευκωσία, Λεμεσός", "Lefkosia, Lemesos"),
        ("ΟΔΟΣ ΕΡΜΟΥ 12", "ODOS ERMOU 12"),
        ("София", "Sofia"),
        ("Пловдив", "Plovdiv"),
        ("Щастлив Юлия Жечев", "Shtastliv Yulia Zhechev"),
        ("ул. Витоша 15", "ul. Vitosha 15"),
        ("България", "Bulgaria"),
        ("Ъгъл Мария", "Agal Maria"),
        ("Ștefan Ţepeş Łódź", "Stefan Tepes Lódz"),
    ],
)
def test_greek_and_cyrillic_follow_the_official_romanisations(text: str, latin: str) -> None:
    assert to_latin1(text) == latin


def test_overlong_values_are_clipped_to_their_columns() -> None:
    long_zip = JtlAddress(postcode="1" * 40, city="x" * 300, country="DE")

    xml = render_order_xml(_order(delivery_address=long_zip))

    parsed = etree.fromstring(xml)
    assert parsed.findtext("tBestellung/tlieferadresse/cPLZ") == "1" * 24
    assert len(parsed.findtext("tBestellung/tlieferadresse/cOrt") or "") == 255


def test_schema_rejects_customer_before_articles() -> None:
    root = etree.fromstring(render_order_xml(_order()))
    order = root.find("tBestellung")
    assert order is not None
    customer = order.find("tkunde")
    assert customer is not None
    order.remove(customer)
    order.insert(14, customer)
    reordered = etree.tostring(root, encoding="ISO-8859-1", xml_declaration=True)
    assert isinstance(reordered, bytes)

    with pytest.raises(JtlXmlInvalid, match="tkunde"):
        validate_order_xml(reordered)


def test_schema_rejects_comma_decimals() -> None:
    xml = render_order_xml(_order()).replace(b"<fPreis>19.99</fPreis>", b"<fPreis>19,99</fPreis>")

    with pytest.raises(JtlXmlInvalid):
        validate_order_xml(xml)


def test_documents_of_a_batch_equal_each_order_rendered_alone() -> None:
    orders = [_order(), _order(external_order_number="PO-2", customer=JtlAddress(last_name="Č"))]

    assert render_order_documents(orders) == [render_order_xml(o) for o in orders]
    assert render_order_documents([]) == []


def test_an_invalid_order_in_a_batch_is_named() -> None:
    bad = _order(external_order_number="PO-BAD", currency="EURO")

    with pytest.raises(JtlXmlInvalid, match="cWaehrung"):
        render_order_documents([_order(), bad])
