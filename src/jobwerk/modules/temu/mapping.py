"""Pure mappings between TEMU and JTL: TEMU order payloads → `JtlOrder`, JTL carriers → TEMU ids.

Inputs are the raw dicts in the shapes of TEMU's documented responses (an order list v2
`pageItems[]` entry, the shipping info v2 `result`, the amount query `result`). No I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from jobwerk.errors import AppError
from jobwerk.modules.temu.jtl import (
    JtlAddress,
    JtlOrder,
    JtlOrderLine,
    LineKind,
    is_latin1,
    to_latin1,
)

REGION_COUNTRIES: Mapping[int, str] = {
    13: "AT", 20: "BE", 32: "BG", 50: "HR", 52: "CY", 53: "CZ", 54: "DK", 64: "EE", 68: "FI",
    69: "FR", 76: "DE", 79: "GR", 90: "HU", 96: "IE", 98: "IT", 108: "LV", 113: "LT", 114: "LU",
    122: "MT", 141: "NL", 162: "PL", 163: "PT", 167: "RO", 180: "SK", 181: "SI", 186: "ES",
    191: "SE", 192: "CH", 210: "GB", 211: "US",
}  # fmt: skip
"""TEMU `regionId` → ISO 3166 alpha-2 (TEMU's shipping address has no ISO code)."""

STANDARD_VAT_RATES: Mapping[str, Decimal] = {
    k: Decimal(v)
    for k, v in {
        "AT": "20", "BE": "21", "BG": "20", "HR": "25", "CY": "19", "CZ": "21", "DK": "25",
        "EE": "24", "FI": "25.5", "FR": "20", "DE": "19", "GR": "24", "HU": "27", "IE": "23",
        "IT": "22", "LV": "21", "LT": "21", "LU": "17", "MT": "18", "NL": "21", "PL": "23",
        "PT": "23", "RO": "21", "SK": "23", "SI": "22", "ES": "21", "SE": "25", "CH": "8.1",
        "GB": "20", "US": "0",
    }.items()
}  # fmt: skip
"""Default standard VAT rates per destination country; override per shop in the settings."""

_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW"})
_PENDING, _CANCELLED = 1, 3
_VAT_TOLERANCE = Decimal("0.5")


class OrderNotImportable(AppError):
    """A TEMU order that cannot (yet) become a JTL order; `reason` says why."""

    status = 422

    def __init__(self, parent_order_sn: str, reason: str) -> None:
        super().__init__(f"TEMU order {parent_order_sn}: {reason}")
        self.parent_order_sn = parent_order_sn
        self.reason = reason


class OrderHeld(OrderNotImportable):
    """An order that must wait for data (a price) rather than go to JTL wrong."""


@dataclass(frozen=True, slots=True)
class OrderMappingSettings:
    """Per-shop choices of the TEMU → JTL order mapping."""

    vat_rates: Mapping[str, Decimal] = field(default_factory=lambda: dict(STANDARD_VAT_RATES))
    default_vat_rate: Decimal = Decimal(19)
    tax_rate_scale: int = 1_000_000
    currency: str = "EUR"
    shipping_method_name: str = ""
    payment_method_name: str = "TEMU"
    shipping_line_name: str = "Versandkosten"
    company_id: int = 1
    user_id: int = 1

    def vat_rate(self, country: str) -> Decimal:
        """The configured standard rate for a destination country."""
        return self.vat_rates.get(country, self.default_vat_rate)


def _result(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = payload.get("result")
    return inner if isinstance(inner, Mapping) else payload


def _money(value: Any) -> Decimal | None:
    if not isinstance(value, Mapping) or value.get("amount") is None:
        return None
    places = 0 if str(value.get("currency", "")).upper() in _ZERO_DECIMAL_CURRENCIES else 2
    return Decimal(int(value["amount"])).scaleb(-places)


def _currency(amounts: Mapping[str, Any] | None, default: str) -> str:
    for value in (amounts or {}).get("parentOrderMap", {}).values():
        if isinstance(value, Mapping) and re.fullmatch(r"[A-Z]{3}", str(value.get("currency"))):
            return str(value["currency"])
    return default


def _country(parent: Mapping[str, Any], number: str) -> str:
    region = parent.get("regionId")
    match = re.match(r"PO-(\d{3})-", number)
    if region not in REGION_COUNTRIES and match:
        region = int(match.group(1))
    country = REGION_COUNTRIES.get(region) if isinstance(region, int) else None
    if country is None:
        raise OrderNotImportable(number, f"unknown regionId {parent.get('regionId')!r}")
    return country


def _vat_rate(
    tax: Decimal | None,
    gross: Decimal | None,
    stated: Any,
    country: str,
    settings: OrderMappingSettings,
    warnings: list[str],
) -> Decimal:
    """Rate from TEMU's stated rate when it agrees with the amounts, else from the amounts.

    TEMU's rate scaling is undocumented (×10⁶ or ×10⁷), so the amounts are the arbiter.
    """
    expected = settings.vat_rate(country)
    derived = None
    if tax is not None and gross is not None and gross - tax > 0:
        derived = tax * 100 / (gross - tax)
    rate = Decimal(stated) / settings.tax_rate_scale if stated else None
    agrees = rate is not None and (derived is None or abs(rate - derived) <= _VAT_TOLERANCE)
    if rate is not None and agrees and 0 <= rate <= 100:
        return rate.quantize(Decimal("0.01"))
    if derived is None:
        return expected
    if abs(derived - expected) <= _VAT_TOLERANCE:
        return expected
    warnings.append(f"VAT rate {derived:.2f}% from TEMU amounts differs from {country} {expected}%")
    return derived.quantize(Decimal("0.01"))


def seller_sku(line: Mapping[str, Any], sku_by_sku_id: Mapping[int, str]) -> str:
    """An order line's seller SKU: from the SKU list by `skuId`, else the line's `extCode`;
    empty when neither names one."""
    sku = sku_by_sku_id.get(line.get("skuId"))  # type: ignore[arg-type]
    if not sku:
        products = line.get("productList") or [{}]
        sku = str(products[0].get("extCode") or "")
    return sku.strip()


def _sku(line: Mapping[str, Any], sku_by_sku_id: Mapping[int, str], number: str) -> str:
    sku = seller_sku(line, sku_by_sku_id)
    if not sku:
        raise OrderNotImportable(number, f"no seller SKU for TEMU skuId {line.get('skuId')}")
    return sku


def _line_name(line: Mapping[str, Any]) -> str:
    name = str(line.get("originalGoodsName") or line.get("goodsName") or "")
    spec = str(line.get("originalSpecName") or line.get("spec") or "")
    return f"{name} - {spec}" if spec else name


def _address(info: Mapping[str, Any], country: str) -> JtlAddress:
    extra = info.get("addressExtra") or {}
    first, last = str(extra.get("firstName") or ""), str(extra.get("lastName") or "")
    if not (first or last):
        first, _, last = str(info.get("receiptName") or "").strip().rpartition(" ")
    addition = " ".join(
        str(info.get(k) or "").strip() for k in ("addressLine2", "addressLine3")
    ).strip()
    return JtlAddress(
        first_name=first,
        last_name=last,
        street=str(info.get("addressLine1") or ""),
        address_addition=addition,
        postcode=str(info.get("postCode") or ""),
        city=str(info.get("regionName3") or ""),
        state=str(info.get("regionName2") or ""),
        country=country,
        mobile=str(info.get("mobile") or ""),
        email=str(info.get("mail") or ""),
    )


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def map_order(
    order: Mapping[str, Any],
    shipping_info: Mapping[str, Any],
    amounts: Mapping[str, Any] | None = None,
    *,
    settings: OrderMappingSettings | None = None,
    sku_by_sku_id: Mapping[int, str] | None = None,
    fallback_unit_prices: Mapping[str, Decimal] | None = None,
    erp_net_prices: Mapping[str, Decimal] | None = None,
    customer_number: str = "",
) -> JtlOrder:
    """Map one TEMU parent order to a `JtlOrder`.

    Args:
        order: an order list v2 `pageItems[]` entry (`parentOrderMap` + `orderList`).
        shipping_info: the shipping info v2 response or its `result`.
        amounts: the amount query response or its `result`; None when the shop lacks the
            permission — then gross unit prices come from `fallback_unit_prices` (e.g. the SKU
            list or the ERP) and the order carries a warning.
        settings: VAT rates, names and ids of the shop.
        sku_by_sku_id: TEMU `skuId` → seller SKU (`skuSn`); else `productList[0].extCode`.
        fallback_unit_prices: gross unit price per seller SKU, used without `amounts`.
        erp_net_prices: net unit price per seller SKU from the ERP's article, the last resort;
            the destination country's VAT rate makes it gross.
        customer_number: an existing JTL customer number (found by e-mail), else a new one.

    Raises:
        OrderNotImportable: pending, cancelled, no address yet, no SKU or no lines to ship.
        OrderHeld: a line has no price from any source (never imported at 0.00).
    """
    cfg = settings or OrderMappingSettings()
    parent = order["parentOrderMap"]
    number = str(parent["parentOrderSn"])
    if parent.get("parentOrderStatus") == _PENDING:
        raise OrderNotImportable(number, "still pending (no shipping address yet)")
    if parent.get("parentOrderStatus") == _CANCELLED:
        raise OrderNotImportable(number, "cancelled")
    country = _country(parent, number)
    info = _result(shipping_info)
    if not (info.get("addressLine1") and info.get("postCode")):
        raise OrderNotImportable(number, "shipping address not available yet")
    amount = _result(amounts) if amounts is not None else None
    warnings: list[str] = []
    prices = _Prices(fallback_unit_prices or {}, erp_net_prices or {})
    lines = _lines(order, amount, country, cfg, sku_by_sku_id or {}, prices, warnings)
    address = _address(info, country)
    originals = _check_buyer_fields(address, warnings)
    created = _timestamp(parent.get("parentOrderTime")) or datetime.now(UTC)
    return JtlOrder(
        external_order_number=number,
        created_at=created,
        currency=_currency(amount, cfg.currency),
        customer=address,
        delivery_address=address,
        lines=lines,
        shipping=_shipping_line(parent, amount, country, cfg, warnings),
        customer_number=customer_number,
        shipping_method_name=cfg.shipping_method_name,
        payment_method_name=cfg.payment_method_name,
        paid_at=None if parent.get("orderPaymentType") == "COD" else created,
        ship_by=_timestamp(parent.get("expectShipLatestTime")),
        comment=f"TEMU {number}",
        company_id=cfg.company_id,
        user_id=cfg.user_id,
        warnings=tuple(warnings),
        originals=originals,
    )


_BUYER_FIELDS = (
    ("cVorname", "first_name"), ("cNachname", "last_name"), ("cFirma", "company"),
    ("cStrasse", "street"), ("cAdressZusatz", "address_addition"), ("cOrt", "city"),
    ("cBundesland", "state"),
)  # fmt: skip
_REQUIRED = ("cNachname", "cStrasse", "cOrt")


def _check_buyer_fields(address: JtlAddress, warnings: list[str]) -> dict[str, str]:
    """The originals of fields JTL's ISO-8859-1 import gets transliterated; a warning for each
    field that is empty or loses its letters on the way (never silently)."""
    originals: dict[str, str] = {}
    for column, name in _BUYER_FIELDS:
        value = " ".join(str(getattr(address, name)).split())
        if not value and column in _REQUIRED:
            warnings.append(f"TEMU sent no {column} ({name.replace('_', ' ')})")
        if is_latin1(value):
            continue
        originals[column] = value
        written = to_latin1(value)
        if not any(char.isalpha() for char in written):
            warnings.append(
                f"{column} {value!r} has no Latin form: written as {written.strip()!r}; "
                "the original is kept with the order in jobwerk"
            )
    return originals


@dataclass(frozen=True, slots=True)
class _Prices:
    """Unit prices to use where TEMU's amounts are missing, by seller SKU."""

    temu_gross: Mapping[str, Decimal]
    erp_net: Mapping[str, Decimal]


def _lines(
    order: Mapping[str, Any],
    amount: Mapping[str, Any] | None,
    country: str,
    cfg: OrderMappingSettings,
    sku_by_sku_id: Mapping[int, str],
    prices: _Prices,
    warnings: list[str],
) -> tuple[JtlOrderLine, ...]:
    number = str(order["parentOrderMap"]["parentOrderSn"])
    by_order_sn = {str(a.get("orderSn")): a for a in (amount or {}).get("orderList", [])}
    lines = []
    for line in order.get("orderList", []):
        quantity = int(line.get("quantity") or 0)
        if quantity <= 0 or line.get("orderStatus") == _CANCELLED:
            continue
        sku = _sku(line, sku_by_sku_id, number)
        order_sn = str(line.get("orderSn") or "")
        priced = by_order_sn.get(order_sn)
        discount = Decimal(0)
        if priced is not None:
            gross = _money(priced.get("unitRetailPriceVatIncl")) or Decimal(0)
            total = _money(priced.get("retailPriceTotalTaxIncl"))
            tax = _money(priced.get("productTaxAmount"))
            rate = _vat_rate(tax, total, priced.get("productTaxRate"), country, cfg, warnings)
            discount = _seller_discount(priced, total)
        else:
            rate = cfg.vat_rate(country)
            gross = _fallback_price(number, sku, rate, prices, warnings)
        if gross <= 0:
            raise OrderHeld(number, f"no price for SKU {sku} (TEMU's amount is 0.00)")
        lines.append(
            JtlOrderLine(
                name=_line_name(line),
                quantity=Decimal(quantity),
                unit_price_gross=gross,
                vat_rate=rate,
                sku=sku,
                discount=discount,
                marketplace_line_id=order_sn,
            )
        )
    if not lines:
        raise OrderNotImportable(number, "no lines left to ship")
    return tuple(lines)


def _seller_discount(priced: Mapping[str, Any], total: Decimal | None) -> Decimal:
    """The seller's discount on a line as JTL's `fRabatt` (percent of the line). A TEMU
    discount is left out: TEMU pays it, the seller's revenue is the undiscounted price."""
    seller = _money(priced.get("discountFromSeller"))
    if not seller or not total:
        return Decimal(0)
    return (seller * 100 / total).quantize(Decimal("0.01"))


def _fallback_price(
    number: str, sku: str, rate: Decimal, prices: _Prices, warnings: list[str]
) -> Decimal:
    """TEMU's SKU price, else the ERP article's net price with the destination's VAT."""
    if sku in prices.temu_gross:
        warnings.append(f"SKU {sku}: price from TEMU's SKU list (no order amounts)")
        return prices.temu_gross[sku]
    if sku in prices.erp_net:
        warnings.append(f"SKU {sku}: price from the JTL article (no order amounts) at {rate}% VAT")
        return (prices.erp_net[sku] * (1 + rate / 100)).quantize(Decimal("0.01"))
    raise OrderHeld(
        number,
        f"no price for SKU {sku}: TEMU's amounts are not permitted, the SKU list has none and "
        "JTL has no article price (grant the amount query or run a full inventory sync)",
    )


def _shipping_line(
    parent: Mapping[str, Any],
    amount: Mapping[str, Any] | None,
    country: str,
    cfg: OrderMappingSettings,
    warnings: list[str],
) -> JtlOrderLine:
    totals = (amount or {}).get("parentOrderMap", {})
    gross = _money(totals.get("shipAmountTotalTaxIncl"))
    if gross is None:
        if parent.get("hasShippingFee"):
            warnings.append("shipping fee charged but unknown without the amount query")
        gross, rate = Decimal(0), cfg.vat_rate(country)
    else:
        tax = _money(totals.get("shipTaxAmount"))
        stated = next((a.get("shipTaxRate") for a in amount.get("orderList", [])), None)  # type: ignore[union-attr]
        rate = _vat_rate(tax, gross, stated, country, cfg, warnings)
    return JtlOrderLine(
        name=cfg.shipping_line_name,
        quantity=Decimal(1),
        unit_price_gross=gross,
        vat_rate=rate,
        kind=LineKind.SHIPPING,
        unit="",
    )
