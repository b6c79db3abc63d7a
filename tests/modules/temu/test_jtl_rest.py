"""The JTL `rest` adapter over HTTP against the REST API sandbox, which stands on the replica
the `db` adapter reads: both backends must see the same stock and tracking."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import update

from jobwerk.modules.temu.jtl import (
    ImportState,
    JtlAddress,
    JtlDatabase,
    JtlError,
    JtlRest,
    JtlUnavailable,
    create_jtl_engine,
)
from jobwerk.modules.temu.jtl._schema import tAuftrag
from jobwerk.modules.temu.jtl_sandbox import (
    JtlRestSandbox,
    JtlWorkerSimulator,
    ReplicaArticle,
    create_replica,
    generate_articles,
)
from jobwerk.modules.temu.sandbox import ThreadedServer
from jobwerk.modules.temu.settings import TemuSettings
from tests.support.temu import jtl_order as order

KEY = "wawi-test-key"
ARTICLES = [
    ReplicaArticle("ART-1", "Küchenwaage", {1: Decimal(10), 2: Decimal(5)}, locked={1: Decimal(1)}),
    ReplicaArticle("ART-2", "Gießkanne", {1: Decimal(1), 2: Decimal(0)}),
    ReplicaArticle("ART-3", "Fußmatte", {2: Decimal("7.5")}),
    *generate_articles(230, seed=4),  # more than two pages of the API's lists
]


@pytest.fixture
def replica(tmp_path: Path) -> str:
    return create_replica(tmp_path / "eazybusiness.db", ARTICLES, customer_emails=["stamm@x.de"])


@pytest.fixture
def wawi(replica: str) -> Iterator[tuple[JtlRestSandbox, str]]:
    sandbox = JtlRestSandbox(replica, api_key=KEY)
    with ThreadedServer(sandbox.app()) as server:
        yield sandbox, f"{server.url}/api/eazybusiness"
    sandbox.close()


def rest_of(url: str, **options: object) -> JtlRest:
    return JtlRest(url, KEY, customer_id=1, **options)  # type: ignore[arg-type]


@pytest.fixture
async def rest(wawi: tuple[JtlRestSandbox, str]) -> AsyncIterator[JtlRest]:
    async with rest_of(wawi[1], warehouse_ids=[1]) as adapter:
        yield adapter


async def levels(adapter: JtlRest | JtlDatabase) -> dict[str, tuple[int, Decimal]]:
    found: dict[str, tuple[int, Decimal]] = {}
    async for page in adapter.read_all_stock(page_size=100):
        found.update({level.sku: (level.available, level.stock) for level in page})
    return found


async def test_check_reports_the_version_and_refuses_a_wrong_key(
    rest: JtlRest, wawi: tuple[JtlRestSandbox, str]
) -> None:
    assert (await rest.check()).version == "1.9.6.0"
    async with JtlRest(wawi[1], "wrong", customer_id=1) as stranger:
        with pytest.raises(JtlError, match="refused the API key"):
            await stranger.check()


async def test_an_unreachable_api_or_a_wrong_address_is_unavailable() -> None:
    async with rest_of("http://127.0.0.1:9/api/eazybusiness") as adapter:
        with pytest.raises(JtlUnavailable, match="unreachable"):
            await adapter.check()
    page = httpx.MockTransport(lambda request: httpx.Response(200, html="<h1>Welcome</h1>"))
    async with rest_of("http://wawi.local/", transport=page) as adapter:
        with pytest.raises(JtlUnavailable, match=r"not JSON.*Welcome.*the API's address"):
            await adapter.check()


async def test_stock_matches_what_the_database_backend_reads(
    rest: JtlRest, replica: str, wawi: tuple[JtlRestSandbox, str]
) -> None:
    over_api = await levels(rest)
    async with JtlDatabase.from_url(replica, warehouse_ids=[1]) as db:
        in_database = await levels(db)
    assert {sku: stock for sku, (_, stock) in over_api.items()} == {
        sku: stock for sku, (_, stock) in in_database.items()
    }
    assert over_api["ART-1"] == (9, Decimal(9))  # warehouse 1 only, the locked unit left out
    assert over_api["ART-3"] == (0, Decimal(0))
    assert len(over_api) == len(ARTICLES)
    async with rest_of(wawi[1], buffer=3) as buffered:  # all warehouses, 3 units held back
        assert (await levels(buffered))["ART-1"] == (11, Decimal(14))


async def test_orders_are_created_once_with_their_lines_and_stock_reserved(
    rest: JtlRest, wawi: tuple[JtlRestSandbox, str]
) -> None:
    sandbox = wawi[0]
    first = await rest.queue_orders(
        [order("PO-1", ("ART-1", 2), ("ART-3", 1)), order("PO-2", ("ART-2", 1)), order("PO-1")]
    )
    assert [(r.queued, r.reason) for r in first] == [
        (True, "created"), (True, "created"), (False, "order already queued"),
    ]  # fmt: skip
    again = await rest.queue_orders([order("PO-1", ("ART-1", 2))])
    assert (again[0].queued, again[0].import_id) == (False, first[0].import_id)
    statuses = await rest.order_import_status(["PO-1", "PO-2", "PO-3"])
    assert [s.state for s in statuses.values()] == [
        ImportState.IMPORTED, ImportState.IMPORTED, ImportState.MISSING,
    ]  # fmt: skip
    assert statuses["PO-1"].order_number and statuses["PO-1"].order_number.startswith("AU")
    async with httpx.AsyncClient(headers={"Authorization": f"Wawi {KEY}", "x-appid": "t",
                                          "x-appversion": "1"}) as http:  # fmt: skip
        lines = (await http.get(f"{wawi[1]}/salesOrders/{first[0].import_id}/lineitems")).json()
    assert [(line["SKU"], line["Quantity"]) for line in lines] == [
        ("ART-1", 2), ("ART-3", 1), (None, 1),
    ]  # fmt: skip
    assert lines[0]["SalesPriceNet"] == pytest.approx(10.0)
    assert sandbox.requests > 0


async def test_an_order_whose_lines_failed_gets_them_on_the_next_run(
    rest: JtlRest, wawi: tuple[JtlRestSandbox, str]
) -> None:
    wawi[0].fail("POST /salesOrders/{salesOrderId}/lineitems")
    with pytest.raises(JtlUnavailable, match="injected fault"):
        await rest.queue_orders([order("PO-7", ("ART-1", 1))])
    assert (await rest.order_import_status(["PO-7"]))["PO-7"].state is ImportState.IMPORTED

    retried = await rest.queue_orders([order("PO-7", ("ART-1", 1))])

    assert (retried[0].queued, retried[0].reason) == (True, "line items added to the order")
    assert (await rest.queue_orders([order("PO-7", ("ART-1", 1))]))[0].queued is False


async def test_refusals_name_what_to_fix(rest: JtlRest) -> None:
    with pytest.raises(JtlError, match=r"no shipping method 'Brieftaube'.*DHL Paket"):
        await rest.queue_orders([order("PO-8", ("ART-1", 1), shipping="Brieftaube")])
    with pytest.raises(JtlError, match="Item with SKU 'NOPE' not found"):
        await rest.queue_orders([order("PO-9", ("NOPE", 1))])
    with pytest.raises(JtlError, match="1-50 characters"):
        await rest.queue_orders([order("")])
    nowhere = replace(order("PO-10", ("ART-1", 1)), delivery_address=JtlAddress(country="DE"))
    with pytest.raises(JtlError, match=r"order PO-10: .*Shipmentaddress\.City: The City field"):
        await rest.queue_orders([nowhere])


async def test_tracking_matches_what_the_database_backend_reads(
    rest: JtlRest, replica: str
) -> None:
    await rest.queue_orders(
        [order("PO-1", ("ART-1", 1), ("ART-2", 1)), order("PO-2", ("ART-3", 1))]
    )
    worker = JtlWorkerSimulator(replica)
    try:
        await worker.ship(["PO-1"], packages=2)
    finally:
        await worker.close()

    over_api = await rest.read_tracking(["PO-1", "PO-2"])

    async with JtlDatabase.from_url(replica) as db:
        in_database = await db.read_tracking(["PO-1", "PO-2"])
        assert set(over_api) == set(in_database) == {"PO-1"}
        assert len(over_api["PO-1"]) == 2
        assert over_api["PO-1"] == in_database["PO-1"]

        # A partial delivery (more of the order still to ship) is not reported: TEMU takes an
        # order's packages in one call.
        engine = create_jtl_engine(replica)
        with engine.begin() as conn:
            conn.execute(update(tAuftrag).values(nKomplettAusgeliefert=0))
        engine.dispose()
        assert await rest.read_tracking(["PO-1"]) == await db.read_tracking(["PO-1"]) == {}


async def test_the_cli_serves_the_api_over_a_replica(replica: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = replica.removeprefix("sqlite:///")
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "jobwerk", "temu", "wawi-api", path),
        *("--port", str(port), "--key", KEY),
        stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None
    try:
        assert b"/api/eazybusiness" in await asyncio.wait_for(server.stdout.readline(), 30)
        async with rest_of(f"http://127.0.0.1:{port}/api/eazybusiness") as adapter:
            for _ in range(100):  # the line is printed just before uvicorn listens
                try:
                    health = await adapter.check()
                    break
                except JtlUnavailable:
                    await asyncio.sleep(0.1)
        assert health.version == "1.9.6.0"
    finally:
        server.terminate()
        await server.wait()
    missing = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "jobwerk", "temu", "wawi-api", path + ".gone"),
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await missing.communicate()
    assert missing.returncode == 2
    assert b"jobwerk temu replica" in errors


def test_each_backend_asks_for_its_own_settings() -> None:
    shop = {"app_key": "k", "app_secret": "s", "access_token": "t"}
    with pytest.raises(ValidationError, match="'rest' needs jtl_api_key, jtl_customer_id"):
        TemuSettings.model_validate({**shop, "jtl_backend": "rest", "jtl_rest_url": "http://w"})
    with pytest.raises(ValidationError, match="'db' needs jtl_url"):
        TemuSettings.model_validate(shop)


async def test_orders_are_cancelled_unless_jtl_delivered_them(rest: JtlRest, replica: str) -> None:
    await rest.queue_orders([order("PO-1", ("ART-1", 2)), order("PO-2", ("ART-2", 1))])
    worker = JtlWorkerSimulator(replica)
    try:
        await worker.ship(["PO-2"])
    finally:
        await worker.close()
    async with JtlDatabase.from_url(replica) as db:
        reserved = (await db.read_stock(["ART-1"]))["ART-1"].available

        outcomes = await rest.cancel_orders(["PO-1", "PO-2", "PO-3"])

        assert outcomes["PO-1"] is None
        assert "cannot be cancelled" in (outcomes["PO-2"] or "")
        assert outcomes["PO-3"] == "JTL-Wawi has no such order"
        assert (await rest.order_import_status(["PO-1"]))["PO-1"].cancelled
        assert (await db.read_stock(["ART-1"]))["ART-1"].available == reserved + 2
        assert await rest.cancel_orders(["PO-1"]) == {"PO-1": None}  # already cancelled
        assert await db.cancel_orders(["PO-2"]) == {"PO-2": "cancel it in JTL-Wawi, do not ship it"}
