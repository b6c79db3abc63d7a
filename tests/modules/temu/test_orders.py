"""Orders under real-world data: one refused order, missing amounts, prices from JTL."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from lxml import etree
from sqlalchemy import select

from jobwerk.core.states import SUCCEEDED
from jobwerk.modules.temu.jtl import create_jtl_engine
from jobwerk.modules.temu.jtl_sandbox import JtlWorkerSimulator, WorkerShipment
from jobwerk.modules.temu.jtl_sandbox._replica import create_customer
from jobwerk.modules.temu.models import TemuOrder
from jobwerk.modules.temu.sandbox._catalog import carriers_for_region
from jobwerk.modules.temu.settings import TemuSettings
from tests.support.api import ADMIN, runtime_of
from tests.support.temu import (
    Shop,
    add_instance,
    counts,
    exports,
    jtl_queued,
    sync,
    sync_orders,
)

DPA = (180_020_008, "Please sign on DPA agreement first")


async def stored_order(app: FastAPI, sn: str) -> TemuOrder:
    async with runtime_of(app).db.session() as session:
        row = await session.scalar(select(TemuOrder).where(TemuOrder.parent_order_sn == sn))
    assert row is not None
    return row


async def test_one_refused_order_is_held_alone_and_tried_again(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    refused, *others = sorted(shop.to_ship())
    shop.sandbox.refuse_order(refused, "bg.order.shippinginfo.v2.get", *DPA)

    first = await sync_orders(api)

    assert first["status"] == "completed_with_warnings", first
    assert await jtl_queued(shop) == set(others)
    assert counts(first)["orders_refused"] == 1
    assert first["result"]["held_orders"] == [
        {"order": refused, "code": DPA[0], "reason": f"TEMU refused "
         f"bg.order.shippinginfo.v2.get: {DPA[1]}"}
    ]  # fmt: skip
    assert any(refused in w and str(DPA[0]) in w for w in first["result"]["warnings"])
    assert (await stored_order(app, refused)).error_code == DPA[0]
    stats = (await api.get("/api/temu/stats", headers=ADMIN)).json()["stats"]
    assert [held["order"] for held in stats["held_orders"]] == [refused]

    shop.sandbox.refuse_order(refused, "bg.order.shippinginfo.v2.get", *DPA, armed=False)
    second = await sync_orders(api)

    assert second["status"] in SUCCEEDED, second
    assert await jtl_queued(shop) == {refused, *others}
    assert second["result"]["held_orders"] == []
    assert (await stored_order(app, refused)).error is None


def queued_line_prices(shop: Shop) -> dict[str, list[str]]:
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.connect() as conn:
            texts = conn.exec_driver_sql("SELECT cText FROM tXMLBestellImport").scalars().all()
    finally:
        engine.dispose()
    prices: dict[str, list[str]] = {}
    for text in texts:
        root = etree.fromstring(text.encode("iso-8859-1"))
        for order in root.iter("tBestellung"):
            number = order.findtext("cInetBestellNr") or order.findtext(".//cExterneBestellNr")
            prices[str(number)] = [
                pos.findtext("fPreis") or ""
                for pos in order.iter("twarenkorbpos")
                if pos.findtext("cPosTyp") == "standard"
            ]
    return prices


def all_priced(shop: Shop) -> bool:
    prices = queued_line_prices(shop)
    return bool(prices) and all(p and float(p) > 0 for lines in prices.values() for p in lines)


async def test_a_new_shop_without_amounts_takes_temu_sku_prices(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    run = await sync_orders(api)

    assert run["status"] == "completed_with_warnings", run
    assert set(queued_line_prices(shop)) == set(shop.to_ship())
    assert all_priced(shop)
    assert any("price from TEMU's SKU list" in w for w in run["result"]["warnings"])


async def test_without_amounts_or_sku_prices_orders_take_the_jtl_article_price(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    shop.sandbox.grant_scope("bg.local.goods.sku.list.query", False)

    run = await sync_orders(api)

    assert run["status"] in SUCCEEDED, run
    assert set(queued_line_prices(shop)) == set(shop.to_ship())
    assert all_priced(shop)
    assert any("price from the JTL article" in w for w in run["result"]["warnings"])


async def test_a_line_without_any_price_holds_its_order_instead_of_0_00(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    order = shop.sandbox.state.orders[sorted(shop.to_ship())[0]]
    sku = order.lines[0].sku.sku_sn
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE tArtikel SET fVKNetto = NULL WHERE cArtNr = ?", (sku,))
    finally:
        engine.dispose()
    shop.sandbox.grant_scope("bg.local.goods.sku.list.query", False)

    run = await sync_orders(api)

    assert run["status"] in SUCCEEDED, run
    assert order.parent_order_sn not in await jtl_queued(shop)
    held = {h["order"]: h["reason"] for h in run["result"]["held_orders"]}
    assert order.parent_order_sn in held and sku in held[order.parent_order_sn]
    assert counts(run)["held"] >= 1
    assert all_priced(shop)


async def test_a_late_cancellation_of_an_old_order_in_jtl_is_seen(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    old = shop.sandbox.add_order(status=2, created_at=shop.sandbox.now() - 10 * 86_400)
    assert (await sync_orders(api))["status"] in SUCCEEDED  # days_back=30 at the first sync
    assert old.parent_order_sn in await jtl_queued(shop)
    shop.sandbox.advance(3600)
    shop.sandbox.cancel_order(old.parent_order_sn)

    run = await sync(api, "orders")  # the default look-back of 7 days

    assert run["status"] in SUCCEEDED, run
    assert counts(run)["cancelled_after_import"] == 1
    assert any(old.parent_order_sn in w for w in run["result"]["warnings"])


def _customer_numbers(xml: bytes) -> dict[str, str]:
    """cKundenNr of each order in the import XML, by external order number."""
    return {
        order.findtext(".//cExterneBestellNr") or "": order.findtext(".//cKundenNr") or ""
        for order in etree.fromstring(xml).iter("tBestellung")
    }


async def test_a_repeat_buyer_is_booked_on_the_existing_jtl_customer(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    known, *others = shop.to_ship()
    buyer = shop.sandbox.order(known)
    assert buyer is not None
    engine = create_jtl_engine(shop.jtl_url)
    with engine.begin() as conn:
        _, number = create_customer(conn, email=buyer.address.mail, first_name="A", last_name="B")
    engine.dispose()

    run = await sync_orders(api)

    assert run["status"] in SUCCEEDED, run
    numbers = _customer_numbers(exports(app, run)["jtl-orders.xml"].read_bytes())
    assert numbers[known] == number
    assert {numbers[sn] for sn in others} <= {"", number}  # only the same buyer matches


async def test_the_collective_customer_mode_books_every_order_on_one_customer(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop
) -> None:
    await add_instance(
        app, "Shop A", shop.settings(jtl_customer_mode="collective", jtl_customer_number="K-TEMU")
    )

    run = await sync_orders(api)

    assert run["status"] in SUCCEEDED, run
    numbers = _customer_numbers(exports(app, run)["jtl-orders.xml"].read_bytes())
    assert set(numbers.values()) == {"K-TEMU"}
    assert set(numbers) == set(shop.to_ship())


def test_the_collective_customer_mode_needs_a_customer_number(shop: Shop) -> None:
    with pytest.raises(ValueError, match="jtl_customer_number"):
        TemuSettings.model_validate(shop.settings(jtl_customer_mode="collective"))


async def test_each_package_goes_to_temu_with_its_own_carrier(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    assert (await sync_orders(api))["status"] in SUCCEEDED
    number = sorted(shop.to_ship())[0]
    worker = JtlWorkerSimulator(shop.jtl_url)
    try:
        await worker.import_pending()
        await worker.ship([number], packages=2, methods=(1, 2))  # DHL Paket, DPD Classic
    finally:
        await worker.close()

    run = await sync_orders(api)

    assert run["status"] in SUCCEEDED, run
    order = shop.sandbox.order(number)
    assert order is not None and order.status == 4, (counts(run), run["result"].get("warnings"))
    [shipment] = {s.package_sn: s for line in order.lines
                  for s in shop.sandbox.state.shipments[line.order_sn]}.values()  # fmt: skip
    names = {c.carrier_id: c.name for c in carriers_for_region(order.region_id)}
    assert names[shipment.carrier_id] == "DHL"
    assert [names[carrier] for carrier, _ in shipment.sub_tracking] == ["DPD"]


def set_parcel(shop: Shop, package_id: int, tracking: str, hours_ago: int = 0) -> None:
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE tVersand SET cIdentCode = ?, "
                "dVersendet = datetime(dVersendet, ?) WHERE kVersand = ?",
                (tracking, f"-{hours_ago} hours", package_id),
            )
    finally:
        engine.dispose()


async def ship_in_two_parcels(api: httpx.AsyncClient, shop: Shop) -> tuple[str, WorkerShipment]:
    """Queue the orders in JTL, then let JTL ship the first one to ship in two parcels."""
    assert (await sync_orders(api))["status"] in SUCCEEDED
    number = sorted(shop.to_ship())[0]
    worker = JtlWorkerSimulator(shop.jtl_url)
    try:
        await worker.import_pending()
        [shipment] = await worker.ship([number], packages=2)
    finally:
        await worker.close()
    return number, shipment


async def test_a_parcel_whose_tracking_number_comes_later_is_still_sent(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    number, shipment = await ship_in_two_parcels(api, shop)
    late = shipment.packages[1]
    set_parcel(shop, late.package_id, "")

    waiting = await sync_orders(api)

    assert waiting["status"] in SUCCEEDED, waiting
    assert counts(waiting)["waiting_for_tracking"] == 1
    order = shop.sandbox.order(number)
    assert order is not None and order.status == 2
    set_parcel(shop, late.package_id, late.tracking_number)

    sent = await sync_orders(api)

    assert sent["status"] in SUCCEEDED, sent
    assert order.status == 4
    parcels = {s.tracking_number for line in order.lines
               for s in shop.sandbox.state.shipments[line.order_sn]}  # fmt: skip
    subs = {t for line in order.lines for s in shop.sandbox.state.shipments[line.order_sn]
            for _, t in s.sub_tracking}  # fmt: skip
    assert parcels | subs == {p.tracking_number for p in shipment.packages}


async def test_a_parcel_without_tracking_long_after_shipping_is_named_and_the_rest_sent(
    api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    number, shipment = await ship_in_two_parcels(api, shop)
    set_parcel(shop, shipment.packages[0].package_id, shipment.packages[0].tracking_number, 7)
    set_parcel(shop, shipment.packages[1].package_id, "", 7)

    run = await sync_orders(api)

    assert run["status"] == "completed_with_warnings", run
    assert any(number in w and "no tracking number" in w for w in run["result"]["warnings"])
    order = shop.sandbox.order(number)
    assert order is not None and order.status == 4


async def test_greek_and_bulgarian_buyers_reach_jtl_readable_with_their_originals_kept(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    greek = shop.sandbox.add_order(status=2)
    greek.address.first_name, greek.address.last_name = "Γιώργος", "Παπαδόπουλος"
    greek.address.street, greek.address.city = "Οδός Ερμού 12", "Αθήνα"

    run = await sync_orders(api)

    assert run["status"] in SUCCEEDED, run
    listed = {o["order"]: o["originals"] for o in run["result"]["transliterated"]}
    assert listed[greek.parent_order_sn]["cNachname"] == "Παπαδόπουλος"
    stored = await stored_order(app, greek.parent_order_sn)
    assert stored.originals is not None and stored.originals["cOrt"] == "Αθήνα"
    xml = exports(app, run)["jtl-orders.xml"].read_bytes()
    [order] = [o for o in etree.fromstring(xml).iter("tBestellung")
               if o.findtext(".//cExterneBestellNr") == greek.parent_order_sn]  # fmt: skip
    assert [order.findtext(f"tkunde/{tag}") for tag in ("cNachname", "cStrasse", "cOrt")] == [
        "Papadopoulos", "Odos Ermou 12", "Athina"
    ]  # fmt: skip
