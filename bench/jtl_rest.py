"""JTL backends side by side: the same replica read through the database and through the REST API.

The REST API sandbox runs in a child process (uvicorn) over a replica with N articles. Prints, for
each backend: the full stock read (every article), creating M orders of two lines, and reading
the tracking of those orders once the simulated JTL-Worker shipped them.

Usage: python bench/jtl_rest.py [--articles 20000] [--orders 500]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn

from jobwerk.modules.temu.jtl import (
    JtlAddress,
    JtlBackend,
    JtlDatabase,
    JtlOrder,
    JtlOrderLine,
    JtlRest,
    LineKind,
    create_jtl_engine,
)
from jobwerk.modules.temu.jtl_sandbox import (
    JtlRestSandbox,
    JtlWorkerSimulator,
    create_replica,
    generate_articles,
)
from jobwerk.modules.temu.jtl_sandbox._replica import create_customer

KEY = "bench-key"


def serve(replica: str, port: int) -> None:
    uvicorn.run(JtlRestSandbox(replica, api_key=KEY).app(), port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def orders(prefix: str, count: int, skus: list[str]) -> list[JtlOrder]:
    address = JtlAddress(first_name="Jörg", last_name="Weiß", street="Hauptstraße 1",
                         postcode="10115", city="Berlin", country="DE")  # fmt: skip
    return [
        JtlOrder(
            external_order_number=f"{prefix}-{n}",
            created_at=datetime.now(UTC),
            currency="EUR",
            customer=address,
            delivery_address=address,
            lines=tuple(
                JtlOrderLine(sku, Decimal(1), Decimal("9.99"), Decimal(19), sku=sku)
                for sku in (skus[n % len(skus)], skus[(n * 7 + 1) % len(skus)])
            ),
            shipping=JtlOrderLine(
                "Versandkosten", Decimal(1), Decimal("4.99"), Decimal(19), kind=LineKind.SHIPPING
            ),
            shipping_method_name="DHL Paket",
        )
        for n in range(count)
    ]


async def timed(label: str, work: Callable[[], Awaitable[Any]]) -> Any:
    started = time.perf_counter()
    result = await work()
    print(f"{label:<44} {time.perf_counter() - started:8.2f} s")
    return result


async def bench(name: str, backend: JtlBackend, replica: str, count: int, skus: list[str]) -> None:
    async def read_stock() -> int:
        return sum([len(page) async for page in backend.read_all_stock()])

    read = await timed(f"{name}: full stock read", read_stock)
    batch = orders(name, count, skus)
    await timed(f"{name}: create {count} orders", lambda: backend.queue_orders(batch))
    worker = JtlWorkerSimulator(replica)
    await worker.import_pending()
    await worker.ship([order.external_order_number for order in batch])
    await worker.close()
    numbers = [order.external_order_number for order in batch]
    found = await timed(
        f"{name}: tracking of {count} orders", lambda: backend.read_tracking(numbers)
    )
    print(f"{name}: {read} articles read, tracking found for {len(found)} orders")


async def main(articles: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        generated = generate_articles(articles, seed=1)
        replica = create_replica(Path(folder) / "eazybusiness.db", generated)
        engine = create_jtl_engine(replica)
        with engine.begin() as conn:
            customer, _ = create_customer(conn, email="temu@x.de", first_name="", last_name="T")
        engine.dispose()
        skus = [article.sku for article in generated]
        async with JtlDatabase.from_url(replica) as db:
            await bench("db", db, replica, count, skus)
        port = free_port()
        server = multiprocessing.get_context("spawn").Process(target=serve, args=(replica, port))
        server.start()
        try:
            url = f"http://127.0.0.1:{port}/api/eazybusiness"
            async with JtlRest(url, KEY, customer_id=customer) as rest:
                for _ in range(100):
                    try:
                        await rest.check()
                        break
                    except Exception:
                        await asyncio.sleep(0.1)
                await bench("rest", rest, replica, count, skus)
        finally:
            server.terminate()
            server.join()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.articles, args.orders))
