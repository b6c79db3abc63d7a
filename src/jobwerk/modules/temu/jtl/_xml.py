"""JTL order import XML (`<tBestellungen>`, table-import dialect) from `JtlOrder`s — pure functions.

Wawi wants ISO-8859-1: letters outside Latin-1 are transliterated (never written as `?`), values
are clipped to their column lengths, decimals use a dot, dates are `dd.mm.yyyy` in Wawi's local
time. The result is checked against the XSD the module ships.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from lxml import etree

from jobwerk.errors import AppError
from jobwerk.modules.temu.jtl._order import JtlAddress, JtlOrder, JtlOrderLine
from jobwerk.modules.temu.jtl._translit import romanize

XML_ENCODING = "ISO-8859-1"
XML_DECLARATION = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
WAWI_TIMEZONE = ZoneInfo("Europe/Berlin")
XSD_NAME = "jtl_order_import.xsd"

# Closest Latin-1 spelling where stripping the accent would lose information Latin-1 can keep.
_TRANSLITERATION = str.maketrans(
    {
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ő": "ö", "Ő": "Ö", "ű": "ü",
        "Ű": "Ü", "œ": "oe", "Œ": "OE", "ŀ": "l", "ſ": "s", "‘": "'", "’": "'", "‚": "'",
        "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "€": "EUR",
    }
)  # fmt: skip

_ADDRESS_FIELDS = (
    ("cAnrede", "salutation", 30),
    ("cTitel", "title", 64),
    ("cVorname", "first_name", 255),
    ("cNachname", "last_name", 255),
    ("cFirma", "company", 128),
    ("cStrasse", "street", 255),
    ("cAdressZusatz", "address_addition", 255),
    ("cPLZ", "postcode", 24),
    ("cOrt", "city", 255),
    ("cBundesland", "state", 255),
    ("cLand", "country", 2),
    ("cTel", "phone", 30),
    ("cMobil", "mobile", 30),
    ("cFax", "", 30),
    ("cMail", "email", 255),
)
_PAYMENT_INFO_FIELDS = (
    "cBankName", "cBLZ", "cKontoNr", "cKartenNr", "dGueltigkeit",
    "cCVV", "cKartenTyp", "cInhaber", "cIBAN", "cBIC",
)  # fmt: skip


class JtlXmlInvalid(AppError):
    """The generated XML does not match the JTL import schema (a bug, or bad input data)."""

    status = 422


def is_latin1(text: str) -> bool:
    """True when `text` can be written in ISO-8859-1 unchanged."""
    try:
        text.encode("iso-8859-1")
    except UnicodeEncodeError:
        return False
    return True


def to_latin1(text: str) -> str:
    """Transliterate `text` to ISO-8859-1: `ł`→`l`, `ő`→`ö`, `č`→`c`; umlauts and `ß` stay;
    Greek per ELOT 743 ("Αθήνα"→"Athina"), Cyrillic per Bulgaria's official system
    ("София"→"Sofia").

    Characters without any Latin form (emoji, CJK) are dropped rather than turned into `?`;
    callers keep the original elsewhere when that matters.
    """
    if is_latin1(text):
        return text
    out = []
    for char in romanize(text).translate(_TRANSLITERATION):
        if is_latin1(char):
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base if is_latin1(base) else "")
    return "".join(out)


def _clean(value: str, max_length: int | None = None) -> str:
    text = to_latin1(" ".join(value.split()))
    return text[:max_length] if max_length else text


def _amount(value: Decimal, places: int) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"


def _quantity(value: Decimal) -> str:
    return f"{value:f}" if value != value.to_integral_value() else f"{value.to_integral_value():f}"


def _date(value: datetime | None, tz: tzinfo) -> str:
    if value is None:
        return ""
    local = value.astimezone(tz) if value.tzinfo is not None else value
    return local.strftime("%d.%m.%Y")


def _transliterated_note(order: JtlOrder) -> str:
    """Says that buyer fields were written in Latin letters and where the original is."""
    if not order.originals:
        return ""
    scripts = sorted({_script(text) for text in order.originals.values()} - {""})
    return (
        f"{', '.join(order.originals)} aus {'/'.join(scripts) or 'Originalschrift'} "
        f"transliteriert; Original in jobwerk (TEMU {order.external_order_number})"
    )


def _script(text: str) -> str:
    for char in text:
        if char.isalpha() and not is_latin1(char):
            return unicodedata.name(char, "").split(" ")[0].capitalize()
    return ""


def _add(parent: etree._Element, tag: str, text: str = "") -> etree._Element:
    child = etree.SubElement(parent, tag)
    child.text = text
    return child


def _position(parent: etree._Element, line: JtlOrderLine) -> None:
    pos = etree.SubElement(parent, "twarenkorbpos")
    _add(pos, "cName", _clean(line.name, 255))
    _add(pos, "cArtNr", _clean(line.sku, 100))
    _add(pos, "cBarcode", _clean(line.ean, 255))
    _add(pos, "cEinheit", _clean(line.unit, 255))
    _add(pos, "fPreisEinzelNetto", _amount(line.unit_price_net, 5))
    _add(pos, "fPreis", _amount(line.unit_price_gross, 2))
    _add(pos, "fMwSt", _amount(line.vat_rate, 2))
    _add(pos, "fAnzahl", _quantity(line.quantity))
    _add(pos, "cPosTyp", line.kind.value)
    _add(pos, "fRabatt", _amount(line.discount, 2))


def _address_fields(parent: etree._Element, address: JtlAddress) -> None:
    for tag, attribute, max_length in _ADDRESS_FIELDS:
        value = getattr(address, attribute) if attribute else ""
        _add(parent, tag, _clean(value, max_length))


def _order(parent: etree._Element, order: JtlOrder, tz: tzinfo) -> None:
    node = etree.SubElement(
        parent, "tBestellung", kFirma=str(order.company_id), kBenutzer=str(order.user_id)
    )
    _add(node, "cSprache", order.language)
    _add(node, "cWaehrung", order.currency)
    _add(node, "cBestellNr")
    _add(node, "cExterneBestellNr", _clean(order.external_order_number, 50))
    _add(node, "cVersandartName", _clean(order.shipping_method_name, 255))
    _add(node, "cVersandInfo")
    _add(node, "dVersandDatum")
    _add(node, "cTracking")
    _add(node, "dLieferDatum", _date(order.ship_by, tz))
    _add(node, "cKommentar", _clean(order.comment))
    _add(node, "cBemerkung", _clean(order.remark or _transliterated_note(order)))
    _add(node, "dErstellt", _date(order.created_at, tz))
    _add(node, "cZahlungsartName", _clean(order.payment_method_name, 255))
    _add(node, "dBezahltDatum", _date(order.paid_at, tz))
    # Articles first, then the customer: the table import loses lines otherwise.
    for line in (*order.lines, order.shipping):
        _position(node, line)
    customer = etree.SubElement(node, "tkunde")
    _add(customer, "cKundenNr", _clean(order.customer_number, 30))
    _address_fields(customer, order.customer)
    for tag in ("cUSTID", "cWWW", "cHerkunft", "dErstellt"):
        _add(customer, tag)
    _address_fields(etree.SubElement(node, "tlieferadresse"), order.delivery_address)
    payment = etree.SubElement(node, "tzahlungsinfo")
    for tag in _PAYMENT_INFO_FIELDS:
        _add(payment, tag)


def render_order_xml(orders: JtlOrder | Iterable[JtlOrder], *, tz: tzinfo = WAWI_TIMEZONE) -> bytes:
    """Serialize orders as one `<tBestellungen>` document in ISO-8859-1, validated.

    One order per document is what the import table expects (errors stay attributable); see
    `render_order_documents` for many such documents at once.

    Raises:
        JtlXmlInvalid: the document does not match the shipped XSD.
    """
    root = etree.Element("tBestellungen")
    for order in [orders] if isinstance(orders, JtlOrder) else orders:
        _order(root, order, tz)
    _validate_tree(root)
    return _serialize(root)


def render_order_documents(
    orders: Sequence[JtlOrder], *, tz: tzinfo = WAWI_TIMEZONE
) -> list[bytes]:
    """One validated document per order, as `render_order_xml` writes it for each alone.

    The orders are checked against the XSD in one pass over a document holding them all, which
    is equivalent: the schema constrains each `<tBestellung>` on its own.

    Raises:
        JtlXmlInvalid: the document of an order (the first invalid one) does not match the XSD.
    """
    batch = etree.Element("tBestellungen")
    for order in orders:
        _order(batch, order, tz)
    try:
        _validate_tree(batch)
        batch_valid = True
    except JtlXmlInvalid:
        batch_valid = False
    documents = []
    for node in list(batch):
        single = etree.Element("tBestellungen")
        single.append(node)  # moves the order out of the batch
        if not batch_valid:
            _validate_tree(single)  # the error then points into that order's own document
        documents.append(_serialize(single))
    return documents


def _serialize(root: etree._Element) -> bytes:
    body = etree.tostring(root, encoding=XML_ENCODING, xml_declaration=False, pretty_print=True)
    if not isinstance(body, bytes):  # lxml returns bytes whenever an encoding is given
        body = body.encode(XML_ENCODING)
    return XML_DECLARATION + body


@cache
def order_import_schema() -> etree.XMLSchema:
    """The shipped XSD of the JTL order import XML."""
    source = resources.files("jobwerk.modules.temu.xsd").joinpath(XSD_NAME).read_bytes()
    return etree.XMLSchema(etree.fromstring(source))


def validate_order_xml(document: bytes) -> None:
    """Check `document` against the shipped XSD.

    Raises:
        JtlXmlInvalid: with the schema's first error messages.
    """
    try:
        tree = etree.fromstring(document)
    except etree.XMLSyntaxError as exc:
        raise JtlXmlInvalid(f"order XML is not well-formed: {exc}") from exc
    _validate_tree(tree)


def _validate_tree(tree: etree._Element) -> None:
    # The tree holds exactly what serialisation writes: every text is Latin-1 already.
    schema = order_import_schema()
    if not schema.validate(tree):
        errors = str(schema.error_log).strip().replace("\n", "; ")
        raise JtlXmlInvalid(f"order XML does not match {XSD_NAME}: {errors}")
