"""The TEMU part of ``jobwerk demo``: a sandbox shop, a replica JTL-Wawi and a simulated worker.

Everything runs on this machine: the TEMU sandbox in a thread, the eazybusiness replica as a
SQLite file in the data folder, and a JTL-Worker loop that imports queued XML orders and ships
them a little later. A primary TEMU instance points at both, with short job intervals, so a
newcomer sees orders arrive, go to JTL, ship and report back, and stock flow to TEMU.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from jobwerk.config import Settings
from jobwerk.modules.temu.jtl_sandbox import JtlWorkerSimulator, ReplicaArticle, create_replica
from jobwerk.modules.temu.sandbox import SandboxServer, TemuSandbox

if TYPE_CHECKING:
    from jobwerk.sdk import Runtime

log = structlog.get_logger("jobwerk.temu.demo")

DEMO_INSTANCE = "Demo shop"
DEMO_ORDERS = 40
DEMO_SKUS = 120
DEMO_INTERVAL_MINUTES = 2.0
WORKER_SECONDS = 5.0
SHIP_AFTER_SECONDS = 45.0
NEW_ORDER_SECONDS = 90.0
FRESH_ORDERS = 5


def replica_articles(sandbox: TemuSandbox, *, changed: float = 0.0) -> list[ReplicaArticle]:
    """One JTL article per sandbox SKU (same article number as the SKU's ``skuSn``).

    Stock matches TEMU's, except for every ``1/changed``-th article, which has 7 more, so a
    stock sync has exactly that share of differences to send.
    """
    every = round(1 / changed) if changed else 0
    articles = []
    for index, sku in enumerate(sorted(sandbox.state.skus.values(), key=lambda s: s.sku_id)):
        stock = sku.stock + (7 if every and index % every == 0 else 0)
        articles.append(
            ReplicaArticle(
                sku=sku.sku_sn,
                name=f"{sku.goods_name} - {sku.spec_name}",
                stock={1: Decimal(stock)},
                net_price=(Decimal(sku.price_cents) / 119).quantize(Decimal("0.01")),
            )
        )
    return articles


def create_matching_replica(
    path: str | PathLike[str], sandbox: TemuSandbox, *, changed: float = 0.0
) -> str:
    """Create a replica eazybusiness database whose articles are the sandbox's SKUs."""
    return create_replica(path, replica_articles(sandbox, changed=changed))


@dataclass
class DemoWorld:
    """The running demo pieces (stopped with :meth:`stop`)."""

    server: SandboxServer
    jtl_url: str
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(10)
        self.server.stop()


async def _worker_loop(world: DemoWorld, sandbox: TemuSandbox) -> None:
    """Import queued orders, ship them a little later; now and then a buyer orders."""
    worker = JtlWorkerSimulator(world.jtl_url)
    imported: dict[str, float] = {}
    last_order = time.monotonic()
    try:
        while not world.stop_event.is_set():
            try:
                await _work_once(worker, imported)
            except Exception as exc:  # a busy replica must not end the demo's worker
                log.warning("demo JTL-Worker round failed", error=str(exc))
            if time.monotonic() - last_order >= NEW_ORDER_SECONDS:
                last_order = time.monotonic()
                sandbox.add_order(status=2)
            await asyncio.sleep(WORKER_SECONDS)
    finally:
        await worker.close()


async def _work_once(worker: JtlWorkerSimulator, imported: dict[str, float]) -> None:
    for item in await worker.import_pending():
        if item.external_order_number and item.error is None:
            imported[item.external_order_number] = time.monotonic()
    due = [n for n, at in imported.items() if time.monotonic() - at >= SHIP_AFTER_SECONDS]
    if due:
        for shipment in await worker.ship(due):
            log.info("demo JTL-Worker shipped", order=shipment.external_order_number)
        for number in due:
            imported.pop(number, None)


def start_world(data_dir: Path, *, port: int = 0) -> DemoWorld:
    """Start the sandbox (in a thread), create the replica and start the worker loop."""
    sandbox = TemuSandbox(
        seed=7, orders=DEMO_ORDERS, skus=DEMO_SKUS, auto_advance=True, rate_limit=20.0
    )
    for _ in range(FRESH_ORDERS):
        sandbox.add_order(status=2)
    server = SandboxServer(sandbox, port=port)
    server.start()
    folder = data_dir / "temu-demo"
    folder.mkdir(parents=True, exist_ok=True)
    world = DemoWorld(server, create_matching_replica(folder / "eazybusiness.db", sandbox))

    def run() -> None:
        with contextlib.suppress(Exception):
            asyncio.run(_worker_loop(world, sandbox))

    world.thread = threading.Thread(target=run, name="temu-demo-jtl-worker", daemon=True)
    world.thread.start()
    return world


def demo_settings(world: DemoWorld) -> dict[str, Any]:
    """Instance settings pointing at the demo sandbox and replica."""
    return {
        "region": "eu",
        "app_key": "sandbox-app-key",
        "app_secret": "sandbox-app-secret",
        "access_token": "sandbox-access-token",
        "base_url": world.server.router_url(),
        "jtl_url": world.jtl_url,
    }


async def _prepare_instance(runtime: Runtime, world: DemoWorld) -> None:
    from sqlalchemy import select

    from jobwerk.core import job_service
    from jobwerk.core.instances import create_instance, update_settings
    from jobwerk.modules.registry import ensure_default_jobs
    from jobwerk.modules.temu import job_ids, module
    from jobwerk.sdk import AppError
    from jobwerk.storage.models import Instance

    async with runtime.transaction() as session:
        instance = await session.scalar(
            select(Instance).where(Instance.module == "temu", Instance.name == DEMO_INSTANCE)
        )
        values = demo_settings(world)
        if instance is None:
            instance = await create_instance(
                session, runtime.box, "temu", module.settings_model, DEMO_INSTANCE, values,
                primary=True,
            )  # fmt: skip
        else:
            await update_settings(session, runtime.box, instance, module.settings_model, values)
    created = await ensure_default_jobs(runtime, module, instance)
    async with runtime.transaction() as session:
        for job_id in created:
            await job_service.set_schedule(session, job_id, interval_minutes=DEMO_INTERVAL_MINUTES)
        # A first run of each job right away (the server's executor picks queued runs up).
        for job_id in job_ids(instance):
            with contextlib.suppress(AppError):
                await job_service.trigger_job(session, runtime.workflows, job_id, trigger="demo")
    log.info("TEMU demo instance ready", instance=instance.id, jobs=list(job_ids(instance)))


async def prepare_demo(runtime: Runtime, *, port: int = 0) -> DemoWorld:
    """Start the TEMU demo world and point a primary TEMU instance at it: the module's
    ``demo`` hook.

    Args:
        runtime: a migrated runtime with the TEMU workflows registered.
        port: the sandbox's port (0: any free one).

    Returns:
        The running world (it stops with the process or with ``stop()``).
    """
    world = await asyncio.to_thread(start_world, runtime.settings.data_dir, port=port)
    try:
        await _prepare_instance(runtime, world)
    except BaseException:
        world.stop()
        raise
    return world


async def _prepare_alone(settings: Settings, port: int) -> DemoWorld:
    from jobwerk.modules.temu import module
    from jobwerk.sdk import Runtime

    runtime = Runtime(settings)
    try:
        await runtime.db.upgrade()
        for workflow in module.workflows():
            runtime.workflows.register(workflow)
        return await prepare_demo(runtime, port=port)
    finally:
        await runtime.db.dispose()


def prepare_temu_demo(settings: Settings, *, port: int = 0) -> DemoWorld | None:
    """:func:`prepare_demo` outside a running event loop, on a runtime of its own.

    Returns:
        The running world (it stops with the process or with ``stop()``); None when the
        settings leave the TEMU module out.
    """
    if settings.modules is not None and "temu" not in settings.modules:
        return None
    return asyncio.run(_prepare_alone(settings, port))
