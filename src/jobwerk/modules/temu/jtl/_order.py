"""The neutral order model between a marketplace and JTL's XML import."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


class LineKind(enum.StrEnum):
    """`cPosTyp` of a `<twarenkorbpos>`: an article or the shipping cost."""

    ARTICLE = "standard"
    SHIPPING = "versandkosten"


@dataclass(frozen=True, slots=True)
class JtlAddress:
    """A postal address as JTL stores it (`country` is the ISO 3166 alpha-2 code)."""

    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street: str = ""
    address_addition: str = ""
    postcode: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    phone: str = ""
    mobile: str = ""
    email: str = ""
    salutation: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class JtlOrderLine:
    """One order position; prices are per unit, `vat_rate` in percent (19.00)."""

    name: str
    quantity: Decimal
    unit_price_gross: Decimal
    vat_rate: Decimal
    kind: LineKind = LineKind.ARTICLE
    sku: str = ""
    ean: str = ""
    unit: str = "Stk"
    discount: Decimal = Decimal(0)
    marketplace_line_id: str = ""

    @property
    def unit_price_net(self) -> Decimal:
        """Net unit price, 5 decimals (what JTL's working table importers write)."""
        return (self.unit_price_gross / (1 + self.vat_rate / 100)).quantize(Decimal("0.00001"))


@dataclass(frozen=True, slots=True)
class JtlOrder:
    """A marketplace order ready for JTL; `external_order_number` is the idempotency key."""

    external_order_number: str
    created_at: datetime
    currency: str
    customer: JtlAddress
    delivery_address: JtlAddress
    lines: tuple[JtlOrderLine, ...]
    shipping: JtlOrderLine
    customer_number: str = ""
    shipping_method_name: str = ""
    payment_method_name: str = "TEMU"
    paid_at: datetime | None = None
    ship_by: datetime | None = None
    comment: str = ""
    remark: str = ""
    language: str = "ger"
    company_id: int = 1
    user_id: int = 1
    warnings: tuple[str, ...] = field(default=())
    originals: dict[str, str] = field(default_factory=dict)
    """Buyer fields in a script ISO-8859-1 lacks, as TEMU sent them, by JTL field (`cOrt`)."""
