"""Deterministic seeded generation of SKUs and parent orders (10 000 orders in well under 1 s)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from ._catalog import COUNTRIES, FIRST_NAMES, GOODS, LAST_NAMES, SPECS, Country
from ._data import Address, OrderLine, ParentOrder, Sku

__all__ = ["STATUS_MIX", "generate_skus", "make_order", "pick_status"]

DAY = 86_400
# parentOrderStatus → share of generated orders (every status TEMU knows for local shops).
STATUS_MIX: tuple[tuple[int, int], ...] = (
    (1, 10), (2, 45), (3, 8), (4, 15), (41, 5), (5, 14), (51, 3),
)  # fmt: skip
_COUNTRY_LIST = [c for c, _ in COUNTRIES]
_COUNTRY_WEIGHTS = [w for _, w in COUNTRIES]


def generate_skus(rng: random.Random, count: int, now: int) -> list[Sku]:
    """``count`` SKUs grouped into goods of 1–4 variants; ~8 % sold out (Inactive/3003)."""
    skus: list[Sku] = []
    goods_no = 0
    now_ms = now * 1000
    while len(skus) < count:
        goods_no += 1
        goods_id = 601_099_000_000_000 + goods_no
        name = f"{GOODS[goods_no % len(GOODS)]} {goods_no}"
        specs = SPECS[goods_no % len(SPECS)]
        for variant in range(min(rng.randint(1, 4), count - len(skus))):
            sku_no = len(skus) + 1
            stock = 0 if rng.random() < 0.08 else rng.randint(1, 250)
            crt_ms = now_ms - rng.randint(30, 400) * DAY * 1000
            skus.append(
                Sku(
                    goods_id=goods_id,
                    sku_id=17_592_000_000_000 + sku_no,
                    sku_sn=f"ART-{sku_no:06d}",
                    goods_name=name,
                    spec_name=specs[variant % len(specs)],
                    price_cents=rng.randint(199, 8999),
                    stock=stock,
                    status=2 if stock else 3,
                    sub_status=2001 if stock else 3003,
                    crt_time_ms=crt_ms,
                    status_change_time_ms=crt_ms,
                )
            )
    return skus


def pick_status(rng: random.Random) -> int:
    """A parent order status drawn from :data:`STATUS_MIX`."""
    return rng.choices([s for s, _ in STATUS_MIX], [w for _, w in STATUS_MIX])[0]


_ADDITIONS = (
    "", "", "", "Hinterhaus", "2. OG links", "c/o Packstation 112",
    "c/o Firma Müller & Söhne GmbH, Wareneingang Tor 3, bitte beim Pförtner abgeben",
    "Wohnung 14\nbei Nachbarin klingeln",
)  # fmt: skip


def _address(rng: random.Random, country: Country, serial: int) -> Address:
    city, post_code, state = rng.choice(country.places)
    first_names, last_names = country.names or (FIRST_NAMES, LAST_NAMES)
    street = f"{rng.choice(country.streets)} {rng.randint(1, 180)}"
    if rng.random() < 0.05:
        street = f"{street}, Gebäude B, Aufgang 4, Hinterhof links neben der Garageneinfahrt"
    return Address(
        first_name=rng.choice(first_names),
        last_name=rng.choice(last_names),
        street=street,
        addition=rng.choice(_ADDITIONS),
        post_code=post_code,
        city=city,
        state=state,
        country=country.name,
        mobile=f"+{rng.randint(30, 49)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}",
        mail=f"buyer{serial:08d}@relay.sandbox.temu.local",
    )


def make_order(
    rng: random.Random,
    serial: int,
    skus: Sequence[Sku],
    *,
    created_at: int,
    status: int,
    pending_seconds: int,
) -> ParentOrder:
    """One parent order with 1–3 lines (quantities 1–3) in a weighted EU country.

    Status 1 orders leave pending at ``created_at + pending_seconds``; every other status has
    already passed that point. Shipping state (lines, tracking) is filled in by the caller.
    """
    country = rng.choices(_COUNTRY_LIST, _COUNTRY_WEIGHTS)[0]
    rid = country.region_id
    digits = f"{serial:011d}{rng.randrange(10**6):06d}"
    chosen = rng.sample(skus, k=min(len(skus), rng.choice((1, 1, 1, 2, 2, 3))))
    lines = []
    for j, sku in enumerate(chosen):
        original = rng.choice((1, 1, 1, 2, 3))
        canceled = 1 if original > 1 and rng.random() < 0.05 else 0
        lines.append(
            OrderLine(f"{rid:03d}-{digits[:-2]}{j:02d}", sku, original, canceled, status=status)
        )
    pending_until = created_at + pending_seconds
    return ParentOrder(
        parent_order_sn=f"PO-{rid:03d}-{digits}",
        region_id=rid,
        site_id=country.site_id,
        currency=country.currency,
        vat_percent=country.vat,
        status=status,
        created_at=created_at,
        update_time=created_at if status == 1 else pending_until,
        pending_until=pending_until,
        ship_by=pending_until + 2 * DAY,
        address=_address(rng, country, serial),
        lines=lines,
        shipping_cents=rng.choice((0, 0, 399, 499)),
    )
