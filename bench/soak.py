"""Soak and chaos: a real ``jobwerk serve`` (SQLite) or an API node with two ``jobwerk worker``
processes (PostgreSQL) under mixed load for ``--minutes``, with faults thrown in.

Load (its own process): ``--readers`` clients reading runs and jobs once a second, ``--triggers``
clients starting a demo run every 10 s, ``--listeners`` WebSocket listeners, a login attack of
``--attack`` attempts/s from three other loopback addresses. Beside it, the TEMU syncs run every
minute against the sandbox with rate-limit, 502 and system-error faults armed, a simulated
JTL-Worker imports and ships, buyers order, and a docs site is scraped every five minutes.

Faults, spread over the run: ``kill -9`` of the process executing a TEMU order sync and an
inventory sync (restarted as systemd would), a PostgreSQL restart, the JTL database locked for a
minute, the disk holding the exports full. After each: the killed or failed run is retried, and
with the shop paused an order and an inventory sync must leave no order twice in JTL, no
tracking number confirmed twice, TEMU's stock equal to JTL's sellable stock, no run stuck.

Prints requests by kind and status, read p99 per five minutes, server RSS over time, log bytes,
runs completed of triggered, and one line per fault. Usage:
``python bench/soak.py [--database sqlite|postgresql] [--minutes 30] [--attack 0] [--no-faults]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
from sqlalchemy import create_engine, text

from _soak_load import run_load
from api import free_port, percentile
from jobwerk.config import Settings
from jobwerk.core import job_service
from jobwerk.core.instances import create_instance
from jobwerk.core.runtime import Runtime
from jobwerk.modules.registry import ensure_default_jobs
from jobwerk.modules.temu import module as temu
from jobwerk.modules.temu.demo import create_matching_replica
from jobwerk.modules.temu.jtl import JtlDatabase
from jobwerk.modules.temu.jtl_sandbox import JtlWorkerSimulator
from jobwerk.modules.temu.sandbox import SandboxServer, TemuSandbox
from jobwerk.storage.db import sync_url
from temu import change_jtl_stock

KEY = "soak-static-admin-key-" + uuid.uuid4().hex
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SHOP_SECRET = "sandbox-app-secret"  # the sandbox knows this app


def figure(name: str, value: Any) -> None:
    print(f"{name}: {value}", flush=True)


class Shop:
    """The TEMU sandbox (faults armed), its JTL replica and a JTL-Worker that can be paused."""

    def __init__(self, folder: Path) -> None:
        self.sandbox = TemuSandbox(seed=11, orders=60, skus=300, rate_limit=20.0)
        self.server = SandboxServer(self.sandbox)
        self.server.start()
        self.jtl_url = create_matching_replica(folder / "eazybusiness.db", self.sandbox)
        self.jtl_path = folder / "eazybusiness.db"
        self.round = threading.Lock()
        self.paused = threading.Event()
        self.stopped = threading.Event()
        self.worker_errors = 0
        self.thread = threading.Thread(target=lambda: asyncio.run(self._work()), daemon=True)
        self.thread.start()

    async def _work(self) -> None:
        worker = JtlWorkerSimulator(self.jtl_url)
        imported: dict[str, float] = {}
        last_order = time.monotonic()
        while not self.stopped.is_set():
            with self.round:
                if not self.paused.is_set():
                    try:
                        for item in await worker.import_pending():
                            if item.external_order_number and item.error is None:
                                imported[item.external_order_number] = time.monotonic()
                        due = [n for n, at in imported.items() if time.monotonic() - at > 30]
                        if due:
                            await worker.ship(due)
                            for number in due:
                                imported.pop(number)
                    except Exception:  # the replica locked by a fault: next round
                        self.worker_errors += 1
                    if time.monotonic() - last_order > 20:
                        last_order = time.monotonic()
                        self.sandbox.add_order(status=2)
            await asyncio.sleep(3)
        await worker.close()

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """No JTL-Worker round, no new order and no TEMU fault meanwhile."""
        self.paused.set()
        with self.round:
            self.sandbox.clear_faults()
        try:
            yield
        finally:
            self.arm()
            self.paused.clear()

    def arm(self) -> None:
        for kind, share in (("rate_limit", 0.03), ("http_502", 0.02), ("system_error", 0.01)):
            self.sandbox.inject_fault(kind, count=None, probability=share)

    def settings(self) -> dict[str, Any]:
        return {
            "app_key": "sandbox-app-key",
            "app_secret": SHOP_SECRET,
            "access_token": "sandbox-access-token",
            "base_url": self.server.router_url(),
            "jtl_url": self.jtl_url,
        }

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(10)
        self.server.stop()


class Processes:
    """The jobwerk processes, their logs, restarts and memory."""

    def __init__(self, folder: Path, env: dict[str, str], port: int, workers: int) -> None:
        self.folder, self.env, self.port = folder, env, port
        self.commands: dict[str, list[str]] = {
            "serve": [sys.executable, "-m", "jobwerk", "serve", "--port", str(port)]
        }
        for index in range(workers):
            self.commands[f"worker-{index}"] = [sys.executable, "-m", "jobwerk", "worker"]
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        for name in self.commands:
            self.start(name)

    def start(self, name: str) -> None:
        env = dict(self.env)
        if name == "serve" and len(self.commands) > 1:
            env["JOBWERK_ENGINE__EXECUTE"] = "false"  # an API node; the workers execute
        log = (self.folder / f"{name}.log").open("ab")
        self.running[name] = subprocess.Popen(
            self.commands[name], env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def name_of(self, pid: int) -> str | None:
        return next((n for n, p in self.running.items() if p.pid == pid), None)

    def kill9(self, name: str) -> None:
        self.running[name].send_signal(signal.SIGKILL)
        self.running[name].wait()
        time.sleep(1)
        self.start(name)

    def rss_mib(self) -> float:
        total = 0
        for process in self.running.values():
            with contextlib.suppress(psutil.Error):
                total += psutil.Process(process.pid).memory_info().rss
        return total / 2**20

    def log_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.folder.glob("*.log"))

    def stop(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(20)


class Soak:
    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args, self.folder = args, folder
        self.data = folder / "data"
        (self.data / "exports").mkdir(parents=True)
        self.disk = self._small_exports_disk()
        self.shop = Shop(folder)
        self.database_url = self._database()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "JOBWERK_DATA_DIR": str(self.data),
            "JOBWERK_DATABASE__URL": self.database_url,
            "JOBWERK_API__KEY": KEY,
            "JOBWERK_API__RATE_LIMIT_PER_MINUTE": "1000000",
            "JOBWERK_DOCS__ALLOW_HOSTS": "127.0.0.1",
            "JOBWERK_LOG__FORMAT": "json",
        }
        self.db = create_engine(sync_url(self.database_url))
        self.api = httpx.Client(base_url=self.base, headers={"X-API-Key": KEY}, timeout=30)
        self.instance = ""
        self.rss: list[tuple[float, float]] = []
        self.faults: list[dict[str, Any]] = []

    def _small_exports_disk(self) -> bool:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(self.data / "exports")],
            capture_output=True,
        )
        return done.returncode == 0

    def _database(self) -> str:
        if self.args.database == "sqlite":
            return f"sqlite:///{self.data / 'jobwerk.db'}"
        name = f"jobwerk_soak_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:5432/{name}"

    # -- set-up ------------------------------------------------------------------------------

    def start(self) -> None:
        os.environ.update(self.env)
        self.instance = asyncio.run(self._prepare())
        workers = 0 if self.args.database == "sqlite" else 2
        self.processes = Processes(self.folder, self.env, self.port, workers)
        self.wait_healthy(120)
        self.shop.arm()
        self.site = self._serve_site()

    async def _prepare(self) -> str:
        """The database, a primary TEMU instance on the shop, its syncs every minute."""
        runtime = Runtime(Settings())
        for workflow in temu.workflows():
            runtime.workflows.register(workflow)
        try:
            await runtime.db.upgrade()
            async with runtime.transaction() as session:
                instance = await create_instance(
                    session, runtime.box, "temu", temu.settings_model, "Soak shop",
                    self.shop.settings(), primary=True,
                )  # fmt: skip
            created = await ensure_default_jobs(runtime, temu, instance)
            async with runtime.transaction() as session:
                for job_id in created:
                    await job_service.set_schedule(session, job_id, interval_minutes=1)
            return instance.id
        finally:
            await runtime.db.dispose()

    def _serve_site(self) -> str:
        site = self.folder / "site"
        site.mkdir()
        for page in range(60):
            links = " ".join(f'<a href="p{n}.html">page {n}</a>' for n in range(page, page + 5))
            body = f"<h1>Page {page}</h1>" + "<p>Soak text for a docs page.</p>" * 20 + links
            (site / f"p{page}.html").write_text(f"<html><body><main>{body}</main></body></html>")
        port = free_port()
        self.site_server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "-d", str(site), "-b", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return f"http://127.0.0.1:{port}/p0.html"

    @property
    def scrape_body(self) -> dict[str, Any]:
        return {"url": self.site, "options": {"rate_limit": 20, "concurrency": 4}}

    def wait_healthy(self, seconds: float) -> float:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            with contextlib.suppress(httpx.HTTPError):
                if self.api.get("/health", timeout=5).status_code == 200:
                    return time.monotonic() - start
            time.sleep(0.5)
        raise RuntimeError("the server did not answer /health")

    # -- runs --------------------------------------------------------------------------------

    def run_row(self, run_id: str) -> Any:
        with self.db.connect() as connection:
            return connection.execute(
                text("SELECT status, reason, error, worker FROM run WHERE id = :id"), {"id": run_id}
            ).first()

    def wait_run(
        self, run_id: str, seconds: float = 300, done: Callable[[Any], bool] | None = None
    ) -> Any:
        done = done or (lambda row: row.status not in ("queued", "running"))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                row = self.run_row(run_id)
                if row is not None and done(row):
                    return row
            time.sleep(0.3)
        return self.run_row(run_id)

    def sync(self, what: str, **params: Any) -> str:
        """Start a sync of the soak shop; when one of its kind runs, wait for it and start again."""
        for _ in range(60):
            with contextlib.suppress(httpx.HTTPError):
                answer = self.api.post(
                    f"/api/temu/instances/{self.instance}/{what}/sync", params=params
                )
                if answer.status_code == 202:
                    run_id: str = answer.json()["run_id"]
                    return run_id
            time.sleep(5)
        raise RuntimeError(f"could not start a {what} sync")

    def retry(self, run_id: str) -> str:
        """Retry a run; while a run of the same job is active (409), wait for it."""
        for _ in range(30):
            answer = self.api.post(f"/api/v1/jobs/{run_id}/retry")
            if answer.status_code == 202:
                status: str = self.wait_run(answer.json()["id"]).status
                return status
            if answer.status_code != 409:
                return str(answer.status_code)
            time.sleep(5)
        return "409"

    def stuck(self) -> int:
        with self.db.connect() as connection:
            rows = connection.execute(
                text("SELECT id, worker FROM run WHERE status = 'running'")
            ).all()
        alive = {f":{p.pid}" for p in self.processes.running.values()}
        return sum(1 for row in rows if not any((row.worker or "").endswith(a) for a in alive))

    # -- checks ------------------------------------------------------------------------------

    def consistency(self) -> dict[str, Any]:
        """With the shop quiet: an order and a full inventory sync, then the invariants."""
        with self.shop.quiet():
            orders = self.wait_run(self.sync("orders", days_back=30))
            inventory = self.wait_run(self.sync("inventory", full=True))
            found = self._invariants()
        return {
            "order_sync": orders.status,
            "inventory_sync": inventory.status,
            **found,
            "stuck_runs": self.stuck(),
        }

    def _invariants(self) -> dict[str, Any]:
        engine = create_engine(self.shop.jtl_url)
        with engine.connect() as conn:
            in_jtl = Counter(
                conn.exec_driver_sql("SELECT cExterneAuftragsnummer FROM tAuftrag").scalars()
            )
            queued = Counter(
                conn.exec_driver_sql(
                    "SELECT cBestellungInetBestellNr FROM tXMLBestellImport"
                ).scalars()
            )
        engine.dispose()
        state = self.shop.sandbox.state
        twice = sum(1 for sn in state.orders if in_jtl[sn] > 1 or queued[sn] > 1)
        packages = {s.package_sn: s.tracking_number for ss in state.shipments.values() for s in ss}
        tracking = Counter(packages.values())

        async def levels() -> dict[str, Any]:
            async with JtlDatabase.from_url(self.shop.jtl_url) as jtl:
                return {lv.sku: lv async for page in jtl.read_all_stock() for lv in page}

        stock = asyncio.run(levels())
        wrong = 0
        for sku in state.skus.values():
            held = sum(
                line.quantity
                for order in state.orders.values()
                if order.status in (1, 2) and not in_jtl[order.parent_order_sn]
                for line in order.lines
                if line.sku.sku_id == sku.sku_id and line.status in (1, 2)
            )
            wrong += sku.stock != max(stock[sku.sku_sn].available - held, 0)
        return {
            "orders_twice_in_jtl": twice,
            "tracking_twice": sum(1 for c in tracking.values() if c > 1),
            "stock_wrong": wrong,
        }

    # -- faults ------------------------------------------------------------------------------

    def kill_during(self, what: str) -> dict[str, Any]:
        params = {"days_back": 30} if what == "orders" else {"full": True}
        if what == "inventory":
            change_jtl_stock(self.shop.jtl_url, 3)  # a third of the SKUs to push
        # Slow TEMU down meanwhile, so the kill lands in the middle of the sync.
        self.shop.sandbox.inject_fault("latency", count=None, probability=1.0, latency=0.5)
        run_id = self.sync(what, **params)
        row = self.wait_run(run_id, 120, lambda r: r.status == "running" and r.worker)
        time.sleep(0.2)
        pid = int(row.worker.rsplit(":", 1)[1])
        name = self.processes.name_of(pid) or "serve"
        killed_while = self.run_row(run_id).status
        self.processes.kill9(name)
        self.shop.sandbox.clear_faults()
        self.shop.arm()
        answering = self.wait_healthy(120)
        ended = self.wait_run(run_id, 240)
        return {
            "fault": f"kill -9 {name} during {what} sync",
            "killed_run": f"{killed_while} → {ended.status}/{ended.reason}",
            "answering_after_s": round(answering, 1),
            "retry": self.retry(run_id),
            **self.consistency(),
        }

    def restart_postgres(self) -> dict[str, Any]:
        run_id = self.sync("orders", days_back=30)
        version = sorted(os.listdir("/etc/postgresql"))[0]
        start = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True
        )
        down = time.monotonic() - start
        answering = self.wait_healthy(120)
        ended = self.wait_run(run_id, 240)
        retry = self.retry(run_id) if ended.status == "failed" else "-"
        return {
            "fault": "PostgreSQL restarted",
            "restart_s": round(down, 1),
            "answering_after_s": round(answering, 1),
            "run_during": f"{ended.status}/{ended.reason}",
            "retry": retry,
            **self.consistency(),
        }

    def jtl_locked(self) -> dict[str, Any]:
        lock = sqlite3.connect(self.shop.jtl_path, timeout=30)
        lock.execute("BEGIN EXCLUSIVE")
        run_id = self.sync("orders", days_back=30)
        ended = self.wait_run(run_id, 240)
        time.sleep(max(0, 60 - 1))
        lock.rollback()
        lock.close()
        retry = self.retry(run_id) if ended.status == "failed" else "-"
        return {
            "fault": "JTL database locked 60 s",
            "run_during": f"{ended.status}/{ended.reason}: {(ended.error or '')[:80]}",
            "retry": retry,
            **self.consistency(),
        }

    def disk_full(self) -> dict[str, Any]:
        if not self.disk:
            return {"fault": "exports disk full", "skipped": "no tmpfs could be mounted"}
        filler = self.data / "exports" / "filler"
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 2**20)
                handle.flush()
        for _ in range(3):  # new orders: the sync has an XML export to write
            self.shop.sandbox.add_order(status=2)
        run_id = self.sync("orders", days_back=30)
        ended = self.wait_run(run_id, 240)
        scrape = self.api.post("/api/v1/scrape", json=self.scrape_body)
        scraped = self.wait_run(scrape.json()["job_id"], 240) if scrape.status_code == 202 else None
        answering = self.api.get("/health").status_code
        filler.unlink()
        retry = self.retry(run_id) if ended.status == "failed" else "-"
        return {
            "fault": "exports disk full",
            "order_sync_during": f"{ended.status}/{ended.reason}: {(ended.error or '')[:80]}",
            "scrape_during": f"{scraped.status}: {(scraped.error or '')[:80]}"
            if scraped
            else scrape.status_code,
            "health_during": answering,
            "retry": retry,
            **self.consistency(),
        }

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> None:
        self.start()
        seconds = self.args.minutes * 60
        out = self.folder / "load.json"
        options = {
            "base": self.base,
            "key": KEY,
            "seconds": seconds,
            "readers": self.args.readers,
            "triggers": self.args.triggers,
            "listeners": self.args.listeners,
            "attack": self.args.attack,
        }
        load = multiprocessing.get_context("spawn").Process(
            target=run_load, args=(options, str(out))
        )
        load.start()
        began = time.monotonic()
        faults: list[Callable[[], dict[str, Any]]] = [
            lambda: self.kill_during("orders"),
            lambda: self.kill_during("inventory"),
            self.jtl_locked,
            self.disk_full,
        ]
        if self.args.database == "postgresql":
            faults.insert(2, self.restart_postgres)
        if self.args.no_faults:
            faults = []
        due = [seconds * (index + 1) / (len(faults) + 2) for index in range(len(faults))]
        next_scrape = 0.0
        sampler = threading.Thread(target=self._sample, args=(began, seconds), daemon=True)
        sampler.start()
        while time.monotonic() - began < seconds:
            elapsed = time.monotonic() - began
            if elapsed >= next_scrape:
                next_scrape += 300
                with contextlib.suppress(httpx.HTTPError):
                    self.api.post("/api/v1/scrape", json=self.scrape_body)
            if due and elapsed >= due[0]:
                due.pop(0)
                fault = faults.pop(0)
                try:
                    outcome = fault()
                except Exception as exc:
                    outcome = {"fault": getattr(fault, "__name__", "fault"), "error": repr(exc)}
                outcome["at_min"] = round(elapsed / 60, 1)
                self.faults.append(outcome)
                figure("fault", json.dumps(outcome))
            time.sleep(1)
        load.join(600)
        self.report(json.loads(out.read_text()))

    def _sample(self, began: float, seconds: float) -> None:
        while time.monotonic() - began < seconds + 60:
            self.rss.append((time.monotonic() - began, self.processes.rss_mib()))
            time.sleep(10)

    def report(self, load: dict[str, Any]) -> None:
        figure("database", f"{self.args.database}, {len(self.processes.commands)} processes")
        for kind, counts in sorted(load["statuses"].items()):
            figure(f"requests {kind}", dict(sorted(counts.items())))
        reads = {int(m): v for m, v in load["reads"].items()}
        windows = {}
        for minute in range(0, self.args.minutes, 5):
            values = [x for m in range(minute, minute + 5) for x in reads.get(m, [])]
            windows[f"{minute}-{minute + 5}"] = (
                round(percentile(values, 0.99), 1) if values else 0.0
            )
        figure("read p99 ms per 5 min", windows)
        samples = {
            f"{int(t // 60)}": round(rss) for t, rss in self.rss[:: max(1, len(self.rss) // 12)]
        }
        figure("server RSS MiB by minute", samples)
        figure("log bytes", self.processes.log_bytes())
        statuses = Counter(self.run_row(run_id).status for run_id in load["triggered"])
        figure("demo runs triggered", len(load["triggered"]))
        figure("demo runs by status", dict(statuses))
        with self.db.connect() as connection:
            rows = connection.execute(
                text("SELECT workflow, status, count(*) FROM run GROUP BY workflow, status")
            ).all()
        figure("runs by workflow", {f"{w} {st}": n for w, st, n in rows if w != "demo.example"})
        figure("websocket", {k: load[k] for k in ("ws_connected", "ws_messages", "ws_drops")})
        figure("load errors", load["errors"])
        logs = "".join(path.read_text(errors="replace") for path in self.folder.glob("*.log"))
        figure("secrets in logs", sum(logs.count(s) for s in (KEY, SHOP_SECRET, "guess-")))
        figure("500 lines in logs", logs.count('"status": 500'))
        figure("stuck runs at end", self.stuck())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.processes.stop()
        with contextlib.suppress(Exception):
            self.site_server.terminate()
        self.shop.stop()
        self.db.dispose()
        if self.args.database == "postgresql":
            name = self.database_url.rsplit("/", 1)[1]
            with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self.disk:
            subprocess.run(["umount", "-l", str(self.data / "exports")], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--triggers", type=int, default=20)
    parser.add_argument("--listeners", type=int, default=500)
    parser.add_argument("--attack", type=float, default=50.0, help="login attempts/s (0: none)")
    parser.add_argument("--no-faults", action="store_true", help="load only, no faults")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobwerk-soak-") as folder:
        soak = Soak(args, Path(folder))
        try:
            soak.run()
        finally:
            soak.close()


if __name__ == "__main__":
    main()
