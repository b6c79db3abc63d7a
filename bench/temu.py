"""TEMU module benchmark: order sync and inventory quick sync against the sandbox and a replica.

The sandbox (seeded with N orders of 1–3 lines and M SKUs, enforcing its rate limit) is served by
uvicorn in a child process, so its memory and CPU do not count as the sync's; the JTL replica
holds one article per SKU. Prints one line per figure:

- order sync: wall time and per-step times, TEMU requests made vs the minimum needed, achieved
  request rate vs the limit; "import + XML": the JSON→DB and DB→XML steps, which make no TEMU
  calls, i.e. the order sync without its rate-limited waits;
- inventory: full sync wall time (reads the SKU list), then 1 % of the articles change stock in
  JTL and a quick sync runs: wall time; the delta computation (step ``jtl_to_inventory``: stored
  inventory + JTL stock read + compare + changed rows written, no TEMU calls) with its time and
  the RSS increase and peak of this process while it ran; stock-edit calls vs goodsIds changed.

Usage: python bench/temu.py [--orders 10000] [--skus 100000] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select

from _sandbox_process import sandbox_process
from jobwerk.config import Settings
from jobwerk.core import run_service
from jobwerk.core.instances import create_instance
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import FINISHED, SUCCEEDED
from jobwerk.logging import configure_logging
from jobwerk.modules.registry import register_module
from jobwerk.modules.temu import module
from jobwerk.modules.temu.demo import create_matching_replica
from jobwerk.modules.temu.jtl import create_jtl_engine
from jobwerk.modules.temu.jtl._schema import tArtikel
from jobwerk.modules.temu.jtl_sandbox._replica import set_stock
from jobwerk.modules.temu.sandbox import SandboxServer, TemuSandbox

CHANGE_EVERY = 100  # 1 % of the articles change stock in JTL before the quick sync


def figure(name: str, value: str) -> None:
    print(f"{name}: {value}", flush=True)


def serve_sandbox(channel: Connection, orders: int, skus: int, rate: float, replica: str) -> None:
    """Child process: seed the sandbox and the matching replica, report, serve until told."""
    sandbox = TemuSandbox(seed=1, orders=orders, skus=skus, rate_limit=rate)
    jtl_url = create_matching_replica(replica, sandbox)
    by_sku = sorted(sandbox.state.skus.values(), key=lambda s: s.sku_id)
    facts = {
        "jtl_url": jtl_url,
        "orders": len(sandbox.state.orders),
        "to_ship": sum(1 for o in sandbox.state.orders.values() if o.status == 2),
        "lines": sum(len(o.lines) for o in sandbox.state.orders.values()),
        "skus": len(by_sku),
        "goods_changed": len({s.goods_id for i, s in enumerate(by_sku) if i % CHANGE_EVERY == 0}),
    }
    with SandboxServer(sandbox) as server:
        channel.send({**facts, "router_url": server.router_url()})
        channel.recv()  # any message (or the parent going away) stops the server


class RssSampler:
    """Samples this process's RSS every 20 ms, so a step's window can be looked up afterwards."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.samples: list[tuple[datetime, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.samples.append((datetime.now(UTC), self.process.memory_info().rss))
            await asyncio.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    def window(self, start: datetime, end: datetime) -> tuple[int, int]:
        """RSS just before ``start`` and the peak until ``end`` (bytes)."""
        before = [rss for at, rss in self.samples if at <= start]
        during = [rss for at, rss in self.samples if start <= at <= end]
        baseline = before[-1] if before else during[0]
        return baseline, max([baseline, *during])


async def steps_of(runtime: Runtime, run_id: str) -> dict[str, tuple[datetime, datetime]]:
    async with runtime.db.session() as session:
        run = await run_service.get_run(session, run_id, with_steps=True)
        return {
            step.name: (_utc(step.started_at), _utc(step.finished_at))
            for step in run.steps
            if step.started_at and step.finished_at
        }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def seconds(window: tuple[datetime, datetime]) -> float:
    return (window[1] - window[0]).total_seconds()


async def run_workflow(runtime: Runtime, workflow: str, instance: str, **params: Any) -> Any:
    async with runtime.transaction() as session:
        run = await run_service.enqueue_run(
            session, runtime.workflows, workflow, params, instance_id=instance
        )
    while True:
        await asyncio.sleep(0.2)
        async with runtime.db.session() as session:
            current = await run_service.get_run(session, run.id)
            if current.status in FINISHED:
                if current.status not in SUCCEEDED:
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


async def bench_orders(runtime: Runtime, facts: dict[str, Any], instance: str, rate: float) -> None:
    orders, to_ship = facts["orders"], facts["to_ship"]
    figure(
        "orders seeded", f"{orders} ({facts['lines'] / orders:.2f} lines each, {to_ship} to ship)"
    )
    start = time.perf_counter()
    run = await run_workflow(runtime, "temu.sync_orders", instance, days_back=31)
    wall = time.perf_counter() - start
    steps = await steps_of(runtime, run.id)
    records = archive(runtime, run.id, "api_to_json")
    minimum = math.ceil(orders / 100) + to_ship
    failed = sum(1 for r in records if r["error"])
    figure("order sync wall time", f"{wall:.1f} s (queued {run.result['jtl']['queued']} in JTL)")
    figure("order sync steps", ", ".join(f"{n} {seconds(w):.1f} s" for n, w in steps.items()))
    import_s, xml_s = seconds(steps["json_to_db"]), seconds(steps["db_to_xml"])
    figure(
        "order import + XML (no TEMU calls, so no rate-limit waits)",
        f"{import_s + xml_s:.1f} s (JSON→DB {import_s:.1f} s for {orders} orders, "
        f"DB→XML {xml_s:.1f} s for {to_ship} orders to ship)",
    )
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


async def bench_inventory(runtime: Runtime, facts: dict[str, Any], instance: str) -> None:
    start = time.perf_counter()
    await run_workflow(runtime, "temu.sync_inventory", instance, mode="full")
    wall = time.perf_counter() - start
    figure("inventory full sync wall time", f"{wall:.1f} s ({facts['skus']} SKUs)")
    changed = change_jtl_stock(facts["jtl_url"], CHANGE_EVERY)
    with RssSampler() as sampler:
        start = time.perf_counter()
        run = await run_workflow(runtime, "temu.sync_inventory", instance, mode="quick")
        wall = time.perf_counter() - start
    steps = await steps_of(runtime, run.id)
    delta = steps["jtl_to_inventory"]
    baseline, peak = sampler.window(*delta)
    figure("inventory quick sync wall time", f"{wall:.1f} s ({changed} SKUs changed in JTL)")
    figure(
        "inventory delta computation (JTL stock read + compare, no TEMU calls)",
        f"{seconds(delta):.2f} s for {facts['skus']} SKUs, RSS +{(peak - baseline) / 2**20:.0f} "
        f"MiB (peak {peak / 2**20:.0f} MiB for the whole sync process, sandbox excluded)",
    )
    push = steps["inventory_to_api"]
    figure("inventory push to TEMU (rate-limited)", f"{seconds(push):.1f} s")
    edits = run.result["inventory"]["stock_edits"]
    figure(
        "inventory stock-edit calls", f"{edits} (goodsIds with a change: {facts['goods_changed']})"
    )
    # The allocator keeps what earlier phases freed, so RSS barely moves; Python's own count
    # of the step's allocations does. A second quick sync compares the same SKUs (nothing left
    # to push), traced; tracing slows it, so its time is not reported.
    tracemalloc.start()
    await run_workflow(runtime, "temu.sync_inventory", instance, mode="quick")
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figure(
        "inventory delta computation, traced allocations",
        f"peak {traced_peak / 2**20:.0f} MiB above the state before the sync "
        f"({facts['skus']} SKUs compared again, tracemalloc)",
    )


async def main(orders: int, skus: int, rate: float) -> None:
    configure_logging("WARNING", "console")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        start = time.perf_counter()
        with sandbox_process(serve_sandbox, orders, skus, rate, data / "eazybusiness.db") as facts:
            figure("setup (sandbox process + replica)", f"{time.perf_counter() - start:.1f} s")
            settings = Settings(
                data_dir=data / "jobwerk", _env_file=None, engine={"scheduler": False},
                modules=["temu"],
            )  # fmt: skip
            runtime = Runtime(settings)
            register_module(runtime, module.name, module)
            await runtime.start(scheduler=False)
            await module.startup(runtime)
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
                        "base_url": facts["router_url"],
                        "jtl_url": facts["jtl_url"],
                        "rate_limit": rate,
                    },
                )
            try:
                await bench_orders(runtime, facts, instance.id, rate)
                await bench_inventory(runtime, facts, instance.id)
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
