"""Latency benchmark: a JTL stock change until TEMU shows it, and a new TEMU order until its row
is in JTL's import table, against the sandbox at full size (10,000 orders, 100,000 SKUs, TEMU's
20 requests/s enforced), with what each path costs in TEMU requests per minute and what one look
of the stock watch costs at JTL.

The sandbox (auto-advancing clock, so seeded pending orders become orders to ship meanwhile) runs
in a child process; jobwerk runs here as a real server (scheduler, local executor, uvicorn, so
the sandbox can push webhooks to it) on SQLite. After a full inventory sync and a first order
sync, two phases of ``--minutes`` each run with the shop's default jobs enabled:

- ``polling``: the order sync job every 30 s, no webhooks;
- ``webhooks``: the sandbox pushes its order events to ``/api/temu/webhook``; the order sync job
  back at its default 30 min, a safety net.

In both, the stock watch runs (started before the first phase; its default 10 s look), 1 % of
the SKUs change stock in JTL per minute (random articles no open TEMU order holds, each by +1…5
units) and a new order to ship arrives at TEMU every ``--order-seconds``. A stock change counts
as visible when the sandbox applies a stock edit setting the SKU to the new value (or a later
change of it); an order when its ``tXMLBestellImport`` row exists (polled every 0.5 s). Prints
one line per figure.

Usage: python bench/latency.py [--orders 10000] [--skus 100000] [--rate 20] [--minutes 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from _sandbox_process import sandbox_process
from jobwerk.app import create_app
from jobwerk.config import Settings
from jobwerk.core import job_service, run_service
from jobwerk.core.instances import create_instance
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import FINISHED, SUCCEEDED
from jobwerk.logging import configure_logging
from jobwerk.modules.registry import ensure_default_jobs
from jobwerk.modules.temu import job_ids, module, watch_job_id
from jobwerk.modules.temu.demo import create_matching_replica
from jobwerk.modules.temu.jtl import JtlDatabase, create_jtl_engine
from jobwerk.modules.temu.jtl._schema import tArtikel, tXMLBestellImport
from jobwerk.modules.temu.jtl_sandbox._replica import set_stock
from jobwerk.modules.temu.sandbox import SandboxServer, TemuSandbox
from jobwerk.storage.models import Run

STOCK_API = "bg.local.goods.stock.edit"
SETTLE_SECONDS = 180  # how long a phase's last changes and orders may take to arrive


def figure(name: str, value: str) -> None:
    print(f"{name}: {value}", flush=True)


def serve_sandbox(channel: Connection, orders: int, skus: int, rate: float, replica: str) -> None:
    """Child process: seed the sandbox and its replica, report, serve until told."""
    sandbox = TemuSandbox(seed=1, orders=orders, skus=skus, rate_limit=rate, auto_advance=True)
    jtl_url = create_matching_replica(replica, sandbox)
    held = {
        line.sku.sku_id
        for order in sandbox.state.orders.values()
        if order.status in (1, 2)
        for line in order.lines
    }
    facts = {
        "jtl_url": jtl_url,
        "free_skus": [(s.sku_id, s.sku_sn) for s in sandbox.state.skus.values()
                      if s.sku_id not in held],
        "held_skus": sorted(held),
        "skus": len(sandbox.state.skus),
        "orders": len(sandbox.state.orders),
    }  # fmt: skip
    with SandboxServer(sandbox) as server:
        channel.send({**facts, "url": server.url, "router_url": server.router_url()})
        channel.recv()


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[int]:
    """jobwerk's app served by uvicorn in this loop (its lifespan runs the engine)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    stock: list[float] = field(default_factory=list)
    orders: list[float] = field(default_factory=list)
    unresolved_stock: int = 0
    unresolved_orders: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    minutes: float = 0.0
    load: str = ""
    order_runs: str = ""


class StockChanges:
    """Changes JTL stock of random free articles and matches them with TEMU's stock edits."""

    def __init__(self, jtl_url: str, free: list[tuple[int, str]], per_minute: int) -> None:
        self.engine = create_jtl_engine(jtl_url)
        with self.engine.connect() as conn:
            rows = conn.execute(select(tArtikel.c.kArtikel, tArtikel.c.cArtNr)).all()
            stock: dict[int, Any] = dict(
                conn.exec_driver_sql(
                    "SELECT kArtikel, fBestand FROM tlagerbestandProLagerLagerartikel "
                    "WHERE kWarenlager = 1"
                ).all()
            )
        article = {sku: k for k, sku in rows}
        self.free = [(sku_id, article[sn]) for sku_id, sn in free if article.get(sn) in stock]
        self.stock = {k: int(v) for k, v in stock.items()}
        self.per_second = per_minute / 60
        self.pending: dict[int, list[tuple[float, int]]] = defaultdict(list)
        self.latencies: list[float] = []
        self.rng = random.Random(7)

    def change(self, count: int) -> None:
        """Raise the stock of ``count`` random articles by 1-5 in one JTL transaction."""
        picks = self.rng.sample(self.free, count)
        with self.engine.begin() as conn:
            for _, article in picks:
                self.stock[article] += self.rng.randint(1, 5)
                set_stock(conn, article, 1, Decimal(self.stock[article]))
        now = time.time()
        for sku_id, article in picks:
            self.pending[sku_id].append((now, self.stock[article]))

    def seen(self, at: float, sku_id: int, stock: int, cause: str) -> None:
        """A stock change at TEMU: a stock edit resolves the changes it shows."""
        if not cause.startswith("stock.edit") or sku_id not in self.pending:
            return
        waiting = self.pending[sku_id]
        shown = [i for i, (t0, value) in enumerate(waiting) if value == stock and t0 <= at]
        if not shown:
            return
        last = shown[-1]
        self.latencies += [at - t0 for t0, _ in waiting[: last + 1]]
        del waiting[: last + 1]

    def unresolved(self) -> int:
        return sum(len(w) for w in self.pending.values())


class NewOrders:
    """Creates orders to ship at TEMU and times them until JTL's import table has them."""

    def __init__(self, api: httpx.AsyncClient, jtl_url: str, sku_ids: list[int]) -> None:
        self.api = api
        self.engine = create_jtl_engine(jtl_url)
        self.sku_ids = sku_ids
        self.pending: dict[str, float] = {}
        self.latencies: list[float] = []
        self.rng = random.Random(11)

    async def place(self) -> None:
        body = {"status": 2, "skuIds": [self.rng.choice(self.sku_ids)]}
        answer = await self.api.post("/_sandbox/orders", json=body)
        answer.raise_for_status()
        self.pending[answer.json()["parentOrderMap"]["parentOrderSn"]] = time.time()

    def check(self) -> None:
        if not self.pending:
            return
        imp = tXMLBestellImport
        with self.engine.connect() as conn:
            found = conn.execute(
                select(imp.c.cBestellungInetBestellNr).where(
                    imp.c.cBestellungInetBestellNr.in_(list(self.pending))
                )
            ).scalars()
            arrived = set(found)
        now = time.time()
        for sn in arrived:
            self.latencies.append(now - self.pending.pop(sn))


async def order_runs(runtime: Runtime, since: datetime) -> str:
    """The phase's order syncs: how many, how long, what they read."""
    async with runtime.db.read() as session:
        runs = list(
            await session.scalars(
                select(Run).where(Run.workflow == "temu.sync_orders", Run.created_at >= since)
            )
        )
    done = [r for r in runs if r.started_at and r.finished_at]
    if not done:
        return "none"
    took = [(r.finished_at - r.started_at).total_seconds() for r in done]  # type: ignore[operator]
    listed = sum((r.result or {}).get("counts", {}).get("orders_listed", 0) for r in done)
    asked = sum((r.result or {}).get("counts", {}).get("queued", 0) for r in done)
    return (
        f"{len(done)} runs ({Counter(r.trigger for r in done)}), {statistics.mean(took):.1f} s "
        f"mean, {max(took):.1f} s max; {listed} orders listed, {asked} queued for JTL"
    )


async def run_phase(
    runtime: Runtime,
    name: str,
    api: httpx.AsyncClient,
    stock: StockChanges,
    orders: NewOrders,
    minutes: float,
    order_seconds: float,
) -> Phase:
    phase = Phase(name, minutes=minutes)
    began = datetime.now(UTC)
    before = Counter((await api.get("/_sandbox/health")).json()["requests"])
    position = (await api.get("/_sandbox/stock-log", params={"since": 10**9})).json()["next"]
    stock.latencies, orders.latencies = [], []
    start = time.monotonic()
    end = start + minutes * 60
    owed, next_order = 0.0, start
    while True:
        now = time.monotonic()
        if now < end:
            owed += stock.per_second * 0.5
            if owed >= 1:
                await asyncio.to_thread(stock.change, int(owed))
                owed -= int(owed)
            if now >= next_order:
                await orders.place()
                next_order += order_seconds
        elif not phase.load:  # the generating part is over: what it cost, how loaded we were
            after = Counter((await api.get("/_sandbox/health")).json()["requests"])
            phase.requests = after - before
            phase.load = _load()
        log = (await api.get("/_sandbox/stock-log", params={"since": position})).json()
        position = log["next"]
        for at, sku_id, value, cause in log["changes"]:
            stock.seen(at, sku_id, value, cause)
        await asyncio.to_thread(orders.check)
        settled = not orders.pending and not stock.unresolved()
        if now >= end and phase.load and (settled or now > end + SETTLE_SECONDS):
            break
        await asyncio.sleep(0.5)
    phase.stock, phase.orders = stock.latencies, orders.latencies
    phase.order_runs = await order_runs(runtime, began)
    phase.unresolved_stock, phase.unresolved_orders = stock.unresolved(), len(orders.pending)
    stock.pending.clear()
    orders.pending.clear()
    return phase


def _load() -> str:
    """What ``uptime`` says about the load (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def percentiles(values: list[float]) -> str:
    if not values:
        return "none measured"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered):.1f} s, p99 {p99:.1f} s, max {ordered[-1]:.1f} s "
        f"(n={len(ordered)})"
    )


def report(phase: Phase) -> None:
    stock_calls = phase.requests[STOCK_API]
    order_calls = sum(phase.requests.values()) - stock_calls
    figure(
        f"[{phase.name}] stock change → TEMU",
        percentiles(phase.stock)
        + (f", {phase.unresolved_stock} not shown" if phase.unresolved_stock else ""),
    )
    figure(
        f"[{phase.name}] TEMU order → JTL import",
        percentiles(phase.orders)
        + (f", {phase.unresolved_orders} not arrived" if phase.unresolved_orders else ""),
    )
    figure(
        f"[{phase.name}] TEMU requests/min",
        f"stock edits {stock_calls / phase.minutes:.0f}, "
        f"order path {order_calls / phase.minutes:.0f} "
        f"({', '.join(f'{k} {v}' for k, v in phase.requests.most_common())})",
    )
    figure(f"[{phase.name}] order syncs", phase.order_runs)
    figure(f"[{phase.name}] uptime at the end", phase.load)  # fmt: skip


async def wait_run(runtime: Runtime, run_id: str) -> Any:
    while True:
        await asyncio.sleep(0.5)
        async with runtime.db.read() as session:
            run = await run_service.get_run(session, run_id)
        if run.status in FINISHED:
            if run.status not in SUCCEEDED:
                raise SystemExit(f"{run.workflow} {run.status}: {run.error}")
            return run


async def start(runtime: Runtime, workflow: str, instance: str, **params: Any) -> Any:
    async with runtime.transaction() as session:
        run = await run_service.enqueue_run(
            session, runtime.workflows, workflow, params, instance_id=instance
        )
    return await wait_run(runtime, run.id)


async def prepare(runtime: Runtime, facts: dict[str, Any], rate: float) -> Any:
    async with runtime.transaction() as session:
        instance = await create_instance(
            session, runtime.box, "temu", module.settings_model, "bench",
            {"app_key": "sandbox-app-key", "app_secret": "sandbox-app-secret",
             "access_token": "sandbox-access-token", "base_url": facts["router_url"],
             "jtl_url": facts["jtl_url"], "rate_limit": rate},
        )  # fmt: skip
    await ensure_default_jobs(runtime, module, instance, enabled=False)
    # Orders first: the first order sync marks every SKU of its orders as moved by TEMU; the
    # full inventory sync after it then reads TEMU's stock as it is.
    began = time.perf_counter()
    await start(runtime, "temu.sync_orders", instance.id, days_back=31)
    figure("first order sync", f"{time.perf_counter() - began:.0f} s ({facts['orders']} orders)")
    began = time.perf_counter()
    await start(runtime, "temu.sync_inventory", instance.id, mode="full")
    figure("full inventory sync", f"{time.perf_counter() - began:.0f} s ({facts['skus']} SKUs)")
    # The sandbox's clock moved pending orders on meanwhile: catch up, so that the phases
    # measure the steady state rather than the backlog of the set-up.
    began = time.perf_counter()
    await start(runtime, "temu.sync_orders", instance.id, days_back=31)
    figure("catch-up order sync", f"{time.perf_counter() - began:.0f} s")
    return instance


async def set_jobs(runtime: Runtime, instance: Any, *, orders_minutes: float) -> None:
    orders_job, _ = job_ids(instance)
    async with runtime.transaction() as session:
        await job_service.set_schedule(session, orders_job, interval_minutes=orders_minutes)
        for job_id in (orders_job, watch_job_id(instance)):
            await job_service.set_enabled(session, job_id, True)


async def look_cost(jtl_url: str, stock: StockChanges) -> None:
    """What one look of the watch costs at JTL: the complete read (its first look, and every
    look of a database without ``bRowversion``) and the read of 1 % changed articles."""
    async with JtlDatabase.from_url(jtl_url) as jtl:
        began = time.perf_counter()
        complete = await jtl.stock_changes(None)
        full = time.perf_counter() - began
        await asyncio.to_thread(stock.change, len(complete.levels) // 100)
        began = time.perf_counter()
        delta = await jtl.stock_changes(complete.mark)
        took = time.perf_counter() - began
    stock.pending.clear()  # made before the syncs: not the phases' to time
    figure(
        "a look of the watch at JTL",
        f"complete read of {len(complete.levels)} articles {full:.2f} s; "
        f"{len(delta.levels)} changed since the last look {took:.3f} s",
    )


async def start_watch(runtime: Runtime, instance: Any) -> None:
    """Start the shop's stock watch now (its job would within a minute) and wait for its first
    look, so the phases measure the watch at work, not its start."""
    async with runtime.transaction() as session:
        run = await job_service.trigger_job(session, runtime.workflows, watch_job_id(instance))
    while True:
        await asyncio.sleep(0.5)
        async with runtime.db.read() as session:
            found = await run_service.get_run(session, run.id)
        if found.status in FINISHED:
            raise SystemExit(f"the stock watch {found.status}: {found.error}")
        if (found.result or {}).get("counts", {}).get("cycles"):
            return


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING", "console")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        began = time.perf_counter()
        with sandbox_process(
            serve_sandbox, args.orders, args.skus, args.rate, data / "eazybusiness.db"
        ) as facts:
            figure("setup (sandbox process + replica)", f"{time.perf_counter() - began:.0f} s")
            settings = Settings(data_dir=data / "jobwerk", _env_file=None, modules=["temu"])
            app = create_app(settings)
            async with serving(app) as port, httpx.AsyncClient(base_url=facts["url"]) as api:
                runtime: Runtime = app.state.runtime
                stock = StockChanges(facts["jtl_url"], facts["free_skus"], args.skus // 100)
                await look_cost(facts["jtl_url"], stock)  # before the syncs, which take it in
                instance = await prepare(runtime, facts, args.rate)
                orders = NewOrders(api, facts["jtl_url"], facts["held_skus"] or [1])
                await set_jobs(runtime, instance, orders_minutes=0.5)
                await start_watch(runtime, instance)
                polling = await run_phase(
                    runtime, "polling 30 s", api, stock, orders, args.minutes, args.order_seconds
                )
                report(polling)
                hook = f"http://127.0.0.1:{port}/api/temu/webhook"
                await api.post("/_sandbox/webhooks", json={"url": hook})
                await set_jobs(runtime, instance, orders_minutes=30)
                pushed = await run_phase(
                    runtime, "webhooks", api, stock, orders, args.minutes, args.order_seconds
                )
                report(pushed)
                deliveries = (await api.get("/_sandbox/webhooks")).json()["deliveries"]
                figure(
                    "webhook answers (last 100)", str(Counter(d.get("status") for d in deliveries))
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0, help="sandbox limit, requests/s")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--order-seconds", type=float, default=10.0, help="a new order every N s")
    asyncio.run(main(parser.parse_args()))
