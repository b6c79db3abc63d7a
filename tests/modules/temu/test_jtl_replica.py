"""The JTL `db` adapter against the SQLite replica, with the simulated JTL-Worker."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from jobwerk.modules.temu.jtl import (
    BATCH_SIZE,
    ImportState,
    JtlDatabase,
    JtlError,
    JtlUnavailable,
    create_jtl_engine,
    render_order_xml,
)
from jobwerk.modules.temu.jtl_sandbox import (
    JtlWorkerSimulator,
    ReplicaArticle,
    create_replica,
    generate_articles,
)
from tests.support.temu import jtl_order

ARTICLES = [
    ReplicaArticle("ART-1", "Küchenwaage", {1: Decimal(10), 2: Decimal(5)}, buffer=2,
                   locked={1: Decimal(1)}),
    ReplicaArticle("ART-2", "Gießkanne", {1: Decimal(1), 2: Decimal(0)}, buffer=3),
    ReplicaArticle("ART-3", "Fußmatte", {2: Decimal("7.5")}),
    ReplicaArticle("PARENT-1", "Vaterartikel", {1: Decimal(99)}, is_parent=True),
]  # fmt: skip


@pytest.fixture
def replica(tmp_path: Path) -> str:
    return create_replica(tmp_path / "eazybusiness.db", ARTICLES, customer_emails=["stamm@x.de"])


@pytest.fixture
async def jtl_db(replica: str) -> AsyncIterator[JtlDatabase]:
    async with JtlDatabase.from_url(replica, warehouse_ids=[1]) as database:
        yield database


@pytest.fixture
async def worker(replica: str) -> AsyncIterator[JtlWorkerSimulator]:
    simulator = JtlWorkerSimulator(replica, warehouse_id=1)
    yield simulator
    await simulator.close()


def _xml(number: str, *lines: tuple[str, int], customer_number: str = "") -> bytes:
    return render_order_xml(jtl_order(number, *lines, customer_number=customer_number))


async def test_check_reports_version_and_import_columns(jtl_db: JtlDatabase) -> None:
    health = await jtl_db.check()

    assert health.version == "1.9.6.0"
    assert health.import_status_columns


async def test_unreachable_database_raises_unavailable(tmp_path: Path) -> None:
    async with JtlDatabase.from_url(f"sqlite:///{tmp_path}/missing/dir/x.db") as database:
        with pytest.raises(JtlUnavailable):
            await database.check()


@pytest.mark.parametrize(
    ("warehouses", "expected"),
    [
        ([1], {"ART-1": 7, "ART-2": 0, "ART-3": 0}),  # 10 − 1 locked − 2 buffer; 1 − 3 → 0
        ([1, 2], {"ART-1": 12, "ART-2": 0, "ART-3": 7}),  # floor(7.5)
        ([], {"ART-1": 12, "ART-2": 0, "ART-3": 7}),  # aggregate fVerfuegbar
    ],
)
async def test_read_stock_subtracts_buffer_over_configured_warehouses(
    replica: str, warehouses: list[int], expected: dict[str, int]
) -> None:
    async with JtlDatabase.from_url(replica, warehouse_ids=warehouses) as database:
        stock = await database.read_stock(["ART-1", "ART-2", "ART-3", "PARENT-1", "UNKNOWN"])

    assert {sku: level.available for sku, level in stock.items()} == expected
    assert stock["ART-1"].buffer == 2


@pytest.mark.parametrize(
    ("warehouses", "expected"),
    [
        ([1], 3),  # 10 − 1 locked − 4 reserved − 2 buffer
        ([], 8),  # the aggregate's fVerfuegbar already counts the reservation: 12 − 4
    ],
)
async def test_open_orders_reserve_stock_with_and_without_warehouses(
    replica: str, warehouses: list[int], expected: int
) -> None:
    engine = create_jtl_engine(replica)
    try:
        with engine.begin() as conn:
            article = conn.exec_driver_sql(
                "SELECT kArtikel FROM tArtikel WHERE cArtNr = 'ART-1'"
            ).scalar_one()
            conn.exec_driver_sql(
                "UPDATE tlagerbestand SET fInAuftraegen = 4, fVerfuegbar = fVerfuegbar - 4 "
                "WHERE kArtikel = ?",
                (article,),
            )
    finally:
        engine.dispose()
    async with JtlDatabase.from_url(replica, warehouse_ids=warehouses) as database:
        stock = await database.read_stock(["ART-1"])

    assert stock["ART-1"].available == expected


async def test_read_stock_keys_by_requested_sku_case_insensitively(jtl_db: JtlDatabase) -> None:
    stock = await jtl_db.read_stock(["art-1 "])

    assert list(stock) == ["art-1 "]
    assert stock["art-1 "].sku == "ART-1"


async def test_read_stock_batches_5000_skus_under_the_parameter_limit(tmp_path: Path) -> None:
    url = create_replica(tmp_path / "big.db", generate_articles(5000, seed=7))
    async with JtlDatabase.from_url(url, warehouse_ids=[1, 2]) as database:
        parameter_counts: list[int] = []

        @event.listens_for(database.engine, "before_cursor_execute")
        def count(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if "tArtikel" in statement:
                parameter_counts.append(len(params))

        skus = [f"ART-{100000 + i}" for i in range(5000)] + ["NOPE-1", "NOPE-2"]
        stock = await database.read_stock(skus)

    assert len(stock) == 5000
    assert len(parameter_counts) == 6  # 5,002 SKUs in batches of 1,000
    assert max(parameter_counts) < 2100
    assert max(parameter_counts) >= BATCH_SIZE


async def test_read_all_stock_pages_through_every_article(tmp_path: Path) -> None:
    url = create_replica(tmp_path / "all.db", article_count=23)
    async with JtlDatabase.from_url(url) as database:
        pages = [page async for page in database.read_all_stock(page_size=10)]

    assert [len(page) for page in pages] == [10, 10, 3]
    ids = [level.article_id for page in pages for level in page]
    assert ids == sorted(set(ids))


async def test_read_articles_returns_ean_name_and_price(tmp_path: Path) -> None:
    url = create_replica(tmp_path / "a.db", article_count=3)
    async with JtlDatabase.from_url(url) as database:
        articles = await database.read_articles(["ART-100001"])

    article = articles["ART-100001"]
    assert article.ean is not None and len(article.ean) == 13
    assert article.name and article.net_price and article.net_price > 0


async def test_queueing_an_order_twice_writes_one_row(jtl_db: JtlDatabase) -> None:
    first = await jtl_db.queue_order_xml("PO-076-1", _xml("PO-076-1", ("ART-1", 2)))
    second = await jtl_db.queue_order_xml("PO-076-1", _xml("PO-076-1", ("ART-1", 2)))

    assert first.queued and first.import_id is not None
    assert not second.queued and second.import_id == first.import_id
    with jtl_db.engine.connect() as conn:
        rows = conn.execute(text("SELECT cText, nPlattform FROM tXMLBestellImport")).all()
    assert len(rows) == 1
    assert rows[0].nPlattform == 5
    assert rows[0].cText.startswith('<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert "Weiß" in rows[0].cText
    status = await jtl_db.order_import_status(["PO-076-1", "PO-076-2"])
    assert status["PO-076-1"].state is ImportState.QUEUED
    assert status["PO-076-2"].state is ImportState.MISSING


async def test_a_batch_queues_each_number_once_in_one_transaction(jtl_db: JtlDatabase) -> None:
    earlier = await jtl_db.queue_order_xml("PO-076-1", _xml("PO-076-1", ("ART-1", 1)))
    statements: list[str] = []

    @event.listens_for(jtl_db.engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    results = await jtl_db.queue_orders_xml(
        [(n, _xml(n, ("ART-1", 1))) for n in ("PO-076-2", "PO-076-1", "PO-076-3", "PO-076-2")]
    )

    assert [(r.external_order_number, r.queued, r.reason) for r in results] == [
        ("PO-076-2", True, "queued"),
        ("PO-076-1", False, "order already queued"),
        ("PO-076-3", True, "queued"),
        ("PO-076-2", False, "order already queued"),
    ]
    assert results[1].import_id == earlier.import_id
    assert results[3].import_id == results[0].import_id
    assert sum("INSERT" in s for s in statements) == 2
    assert sum("tXMLBestellImport" in s and "SELECT" in s for s in statements) == 1
    status = await jtl_db.order_import_status(["PO-076-1", "PO-076-2", "PO-076-3"])
    assert {s.state for s in status.values()} == {ImportState.QUEUED}


async def test_a_batch_failing_midway_queues_nothing(jtl_db: JtlDatabase) -> None:
    inserts = 0

    @event.listens_for(jtl_db.engine, "before_cursor_execute")
    def fail_second_insert(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        nonlocal inserts
        inserts += "INSERT" in statement
        if inserts == 2:
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(JtlUnavailable):
        await jtl_db.queue_orders_xml(
            [(n, _xml(n, ("ART-1", 1))) for n in ("PO-076-1", "PO-076-2")]
        )

    event.remove(jtl_db.engine, "before_cursor_execute", fail_second_insert)
    status = await jtl_db.order_import_status(["PO-076-1", "PO-076-2"])
    assert {s.state for s in status.values()} == {ImportState.MISSING}
    with pytest.raises(JtlError):
        await jtl_db.queue_orders_xml([("PO-076-1", b"<x/>"), ("", b"<x/>")])
    assert (await jtl_db.order_import_status(["PO-076-1"]))["PO-076-1"].state is ImportState.MISSING


async def test_old_wawi_without_number_column_is_still_idempotent(replica: str) -> None:
    async with JtlDatabase.from_url(replica) as database:
        with database.engine.begin() as conn:
            conn.execute(text("ALTER TABLE tXMLBestellImport DROP COLUMN cBestellungInetBestellNr"))
        first = await database.queue_order_xml("PO-076-9", _xml("PO-076-9", ("ART-1", 1)))
        second = await database.queue_order_xml("PO-076-9", _xml("PO-076-9", ("ART-1", 1)))
        other = await database.queue_order_xml("PO-076-99", _xml("PO-076-99", ("ART-1", 1)))

    assert (first.queued, second.queued, other.queued) == (True, False, True)


async def test_worker_imports_ships_and_tracking_is_read_back(
    replica: str, worker: JtlWorkerSimulator
) -> None:
    async with JtlDatabase.from_url(replica) as db:  # aggregate stock: reservations count
        await db.queue_order_xml("PO-076-1", _xml("PO-076-1", ("ART-1", 2), ("ART-3", 1)))
        before = await db.read_stock(["ART-1"])

        imported = await worker.import_pending()
        assert [(i.external_order_number, i.error) for i in imported] == [("PO-076-1", None)]
        status = (await db.order_import_status(["PO-076-1"]))["PO-076-1"]
        assert status.state is ImportState.IMPORTED
        assert status.order_number == imported[0].order_number
        assert (await db.read_stock(["ART-1"]))["ART-1"].available == before["ART-1"].available - 2
        assert await db.read_tracking(["PO-076-1"]) == {}
        assert await db.queue_order_xml("PO-076-1", b"<x/>") == await db.queue_order_xml(
            "PO-076-1", b"<x/>"
        )

        shipments = await worker.ship()
        tracking = await db.read_tracking(["PO-076-1", "PO-076-2"])

    assert len(shipments) == 1 and len(shipments[0].packages) == 1
    package = tracking["PO-076-1"][0]
    assert package.tracking_number == shipments[0].packages[0].tracking_number
    assert len(package.tracking_number) == 20
    assert package.carrier == "DHL Paket"
    assert package.delivery_note_number == f"{status.order_number}-001"
    assert await worker.ship() == []  # nothing left to ship


async def test_worker_ships_in_several_packages(
    jtl_db: JtlDatabase, worker: JtlWorkerSimulator
) -> None:
    await jtl_db.queue_order_xml("PO-076-5", _xml("PO-076-5", ("ART-1", 1), ("ART-3", 1)))
    await worker.import_pending()

    await worker.ship(["PO-076-5"], packages=2)
    tracking = await jtl_db.read_tracking(["PO-076-5"])

    numbers = [p.tracking_number for p in tracking["PO-076-5"]]
    assert len(numbers) == len(set(numbers)) == 2


async def test_an_open_order_reserves_and_shipping_books_stock_out_of_the_warehouse(
    jtl_db: JtlDatabase, worker: JtlWorkerSimulator
) -> None:
    assert (await jtl_db.read_stock(["ART-1"]))["ART-1"].available == 7  # warehouse 1
    await jtl_db.queue_order_xml("PO-076-3", _xml("PO-076-3", ("ART-1", 3)))
    await worker.import_pending()
    assert (await jtl_db.read_stock(["ART-1"]))["ART-1"].available == 4  # reserved by the order

    await worker.ship()

    assert (await jtl_db.read_stock(["ART-1"]))["ART-1"].available == 4  # shipped, released


async def test_worker_reports_unknown_articles_as_failed_imports(
    jtl_db: JtlDatabase, worker: JtlWorkerSimulator
) -> None:
    await jtl_db.queue_order_xml("PO-076-4", _xml("PO-076-4", ("NOT-IN-JTL", 1)))

    [result] = await worker.import_pending()
    status = (await jtl_db.order_import_status(["PO-076-4"]))["PO-076-4"]

    assert result.order_id is None
    assert status.state is ImportState.FAILED
    assert status.error is not None and "NOT-IN-JTL" in status.error


async def test_existing_customer_is_found_by_email_and_reused(
    jtl_db: JtlDatabase, worker: JtlWorkerSimulator
) -> None:
    assert await jtl_db.find_customer_by_email("unknown@x.de") is None
    customer = await jtl_db.find_customer_by_email("stamm@x.de")
    assert customer is not None and customer.customer_number == "10001"

    await jtl_db.queue_order_xml(
        "PO-076-6", _xml("PO-076-6", ("ART-1", 1), customer_number="10001")
    )
    await jtl_db.queue_order_xml("PO-076-7", _xml("PO-076-7", ("ART-1", 1)))
    await worker.import_pending()

    with jtl_db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT cExterneAuftragsnummer, cKundenNr FROM tAuftrag ORDER BY kAuftrag")
        ).all()
    assert [tuple(r) for r in rows] == [("PO-076-6", "10001"), ("PO-076-7", "10002")]
    new = await jtl_db.find_customer_by_email("relay-1@example.invalid")
    assert new is not None and new.customer_number == "10002"


async def test_shipping_methods_are_listed(jtl_db: JtlDatabase) -> None:
    methods = await jtl_db.read_shipping_methods()

    assert "DHL Paket" in [m.name for m in methods]
    assert all(m.active for m in methods)
