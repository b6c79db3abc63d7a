"""TEMU module benchmark: order sync and inventory quick sync against the sandbox and a replica.

The sandbox is seeded with N orders (1–3 lines each) and M SKUs and enforces its rate limit;
the JTL replica holds one article per SKU. Prints one line per figure:

- order sync: wall time, TEMU requests made vs the minimum needed (order list pages + one
  shipping info per order to ship, + one amount probe), achieved request rate vs the limit;
- inventory: full sync wall time (reads the SKU list), then 1 % of the articles change stock in
  JTL and a quick sync runs: wall time, peak RSS, stock-edit calls vs goodsIds with a change.

Usage: python bench/temu.py [--orders 10000] [--skus 100000] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select

from jobwerk.config import Settings
from jobwerk.core import service
from jobwerk.core.instances import create_instance
from jobwerk.core.runtime import Runtime
from jobwerk.logging import configure_logging
from jobwerk.modules.temu import module
from jobwerk.modules.temu.demo import create_matching_replica
from jobwerk.modules.temu.jtl import create_jtl_engine
from jobwerk.modules.temu.jtl._replica import set_stock
from jobwerk.modules.temu.jtl._schema import tArtikel
from jobwerk.modules.temu.sandbox import SandboxServer, TemuSandbox


def figure(name: str, value: str) -> None:
    print(f"{name}: {value}", flush=True)


async def step_times(runtime: Runtime, run_id: str) -> str:
    async with runtime.db.session() as session:
        run = await service.get_run(session, run_id, with_steps=True)
        return ", ".join(
            f"{step.name} {(step.finished_at - step.started_at).total_seconds():.1f} s"
            for step in run.steps
            if step.started_at and step.finished_at
        )


async def run_workflow(runtime: Runtime, workflow: str, instance: str, **params: Any) -> Any:
    async with runtime.transaction() as session:
        run = await service.enqueue_run(
            session, runtime.workflows, workflow, params, instance_id=instance
        )
    while True:
        await asyncio.sleep(0.2)
        async with runtime.db.session() as session:
            current = await service.get_run(session, run.id)
            if current.status in ("completed", "failed", "cancelled"):
                if current.status != "completed":
                    raise SystemExit(f"{workflow} {current.status}: {current.error}")
                return current


def archive(runtime: Runtime, run_id: str, step: str) -> list[dict[str, Any]]:
    path = runtime.settings.data_dir / "exports" / run_id / f"temu-{step}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def change_jtl_stock(url: str, every: int) -> int:
    """Add 5 to the stock of every ``every``-th article; returns how many changed."""
    engine = create_jtl_engine(url)
    changed = 0
    try:
        with engine.begin() as conn:
            ids = conn.execute(select(tArtikel.c.kArtikel).order_by(tArtikel.c.kArtikel)).scalars()
            for index, article in enumerate(list(ids)):
                if index % every == 0:
                    stock = conn.exec_driver_sql(
                        "SELECT fBestand FROM tlagerbestandProLagerLagerartikel "
                        "WHERE kArtikel = ? AND kWarenlager = 1",
                        (article,),
                    ).scalar_one()
                    set_stock(conn, article, 1, Decimal(stock) + 5)
                    changed += 1
    finally:
        engine.dispose()
    return changed


async def bench_orders(runtime: Runtime, sandbox: TemuSandbox, instance: str, rate: float) -> None:
    orders = len(sandbox.state.orders)
    to_ship = sum(1 for o in sandbox.state.orders.values() if o.status == 2)
    lines = sum(len(o.lines) for o in sandbox.state.orders.values())
    figure("orders seeded", f"{orders} ({lines / orders:.2f} lines each, {to_ship} to ship)")
    start = time.perf_counter()
    run = await run_workflow(runtime, "temu.sync_orders", instance, days_back=31)
    wall = time.perf_counter() - start
    records = archive(runtime, run.id, "api_to_json")
    minimum = math.ceil(orders / 100) + to_ship
    failed = sum(1 for r in records if r["error"])
    figure("order sync wall time", f"{wall:.1f} s (queued {run.result['jtl']['queued']} in JTL)")
    figure("order sync steps", await step_times(runtime, run.id))
    figure(
        "order sync TEMU requests",
        f"{len(records)} made ({failed} rejected and retried) vs {minimum} needed "
        f"({math.ceil(orders / 100)} list pages + {to_ship} shipping infos; +1 amount probe)",
    )
    stamps = sorted(r["started_at"] for r in records)
    span = (datetime.fromisoformat(stamps[-1]) - datetime.fromisoformat(stamps[0])).total_seconds()
    figure(
        "order sync request rate",
        f"{len(records) / span:.1f} req/s achieved vs {rate:g} req/s sandbox limit",
    )


async def bench_inventory(
    runtime: Runtime, sandbox: TemuSandbox, instance: str, jtl_url: str
) -> None:
    skus = len(sandbox.state.skus)
    start = time.perf_counter()
    await run_workflow(runtime, "temu.sync_inventory", instance, mode="full")
    figure("inventory full sync wall time", f"{time.perf_counter() - start:.1f} s ({skus} SKUs)")
    changed = change_jtl_stock(jtl_url, 100)
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    start = time.perf_counter()
    run = await run_workflow(runtime, "temu.sync_inventory", instance, mode="quick")
    wall = time.perf_counter() - start
    done.set()
    await sampler
    goods = {
        sku.goods_id
        for index, sku in enumerate(sorted(sandbox.state.skus.values(), key=lambda s: s.sku_id))
        if index % 100 == 0
    }
    edits = run.result["inventory"]["stock_edits"]
    figure("inventory quick sync wall time", f"{wall:.1f} s ({changed} SKUs changed in JTL)")
    figure(
        "inventory quick sync peak RSS",
        f"{peak / 2**20:.0f} MiB (process incl. sandbox; {baseline / 2**20:.0f} MiB before)",
    )
    figure("inventory stock-edit calls", f"{edits} (goodsIds with a change: {len(goods)})")


async def main(orders: int, skus: int, rate: float) -> None:
    configure_logging("WARNING", "console")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        start = time.perf_counter()
        sandbox = TemuSandbox(seed=1, orders=orders, skus=skus, rate_limit=rate)
        jtl_url = create_matching_replica(data / "eazybusiness.db", sandbox)
        figure("setup (sandbox + replica)", f"{time.perf_counter() - start:.1f} s")
        settings = Settings(
            data_dir=data / "jobwerk", _env_file=None, engine={"scheduler": False}, modules=["temu"]
        )
        runtime = Runtime(settings)
        for workflow in module.workflows():
            runtime.workflows.register(workflow)
        await runtime.start(scheduler=False)
        await module.startup(runtime)
        with SandboxServer(sandbox) as server:
            async with runtime.transaction() as session:
                instance = await create_instance(
                    session,
                    runtime.box,
                    "temu",
                    module.settings_model,
                    "bench",
                    {
                        "app_key": "sandbox-app-key",
                        "app_secret": "sandbox-app-secret",
                        "access_token": "sandbox-access-token",
                        "base_url": server.router_url(),
                        "jtl_url": jtl_url,
                        "rate_limit": rate,
                    },
                )
            try:
                await bench_orders(runtime, sandbox, instance.id, rate)
                await bench_inventory(runtime, sandbox, instance.id, jtl_url)
            finally:
                await module.shutdown(runtime)
                await runtime.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0, help="sandbox limit, requests/s")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.orders, arguments.skus, arguments.rate))
