"""A JTL order of given lines, as both JTL backends' tests place them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from jobwerk.modules.temu.jtl import JtlAddress, JtlOrder, JtlOrderLine, LineKind


def jtl_order(
    number: str, *lines: tuple[str, int], customer_number: str = "", shipping: str = "DHL Paket"
) -> JtlOrder:
    """Lines of (SKU, quantity) at 11.90 gross each, shipping 4.99, to Berlin."""
    address = JtlAddress(
        first_name="Jörg", last_name="Weiß", street="Hauptstraße 1", postcode="10115",
        city="Berlin", country="DE", email="relay-1@example.invalid",
    )  # fmt: skip
    return JtlOrder(
        external_order_number=number,
        created_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
        currency="EUR",
        customer=address,
        delivery_address=address,
        lines=tuple(
            JtlOrderLine(sku, Decimal(qty), Decimal("11.90"), Decimal(19), sku=sku)
            for sku, qty in lines
        ),
        shipping=JtlOrderLine(
            "Versandkosten", Decimal(1), Decimal("4.99"), Decimal(19), kind=LineKind.SHIPPING
        ),
        customer_number=customer_number,
        shipping_method_name=shipping,
    )
