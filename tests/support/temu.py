"""TEMU as tests meet it: the sandbox client's credentials and TEMU's documented examples, a
sandbox shop served over HTTP with its JTL-Wawi replica, syncs over the module API, and JTL orders
as both JTL backends' tests place them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from jobwerk.core.instances import create_instance
from jobwerk.modules.registry import ensure_default_jobs
from jobwerk.modules.temu import module as temu_module
from jobwerk.modules.temu.client import TemuClient
from jobwerk.modules.temu.demo import create_matching_replica
from jobwerk.modules.temu.jtl import (
    JtlAddress,
    JtlDatabase,
    JtlOrder,
    JtlOrderLine,
    LineKind,
    create_jtl_engine,
)
from jobwerk.modules.temu.jtl_sandbox import JtlWorkerSimulator
from jobwerk.modules.temu.jtl_sandbox._replica import set_stock
from jobwerk.modules.temu.sandbox import SandboxServer, Sku, TemuSandbox
from tests.support.api import ADMIN, runtime_of, wait_for_run

APP_KEY = "sandbox-app-key"
APP_SECRET = "sandbox-app-secret"
ACCESS_TOKEN = "sandbox-access-token"
DOC_EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "temu"

DocExample = Callable[[str], dict[str, Any]]
ClientFactory = Callable[..., TemuClient]


def load_doc_example(api_type: str) -> dict[str, Any]:
    """TEMU's documented request/response example for an API type."""
    data: dict[str, Any] = json.loads((DOC_EXAMPLES / f"{api_type}.json").read_text("utf-8"))
    return data


def sandbox_client(server: SandboxServer, **kwargs: Any) -> TemuClient:
    """A client of the served sandbox with fast retries and no client-side rate limit."""
    options: dict[str, Any] = {
        "base_url": server.router_url(),
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "access_token": ACCESS_TOKEN,
        "rate_limit": None,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "max_retries": 3,
        "timeout": 5.0,
    }
    options.update(kwargs)
    return TemuClient(**options)


TO_SHIP = 2


@dataclass
class Shop:
    """A TEMU sandbox shop served over HTTP and its JTL-Wawi replica."""

    sandbox: TemuSandbox
    server: SandboxServer
    jtl_url: str
    jtl_path: Path

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {
            "app_key": APP_KEY,
            "app_secret": APP_SECRET,
            "access_token": ACCESS_TOKEN,
            "base_url": self.server.router_url(),
            "jtl_url": self.jtl_url,
            "rate_limit": 1000.0,
            "max_retries": 1,
            "backoff_seconds": 0.01,
            **overrides,
        }

    def to_ship(self) -> list[str]:
        return [
            o.parent_order_sn for o in self.sandbox.state.orders.values() if o.status == TO_SHIP
        ]


def open_shop(
    folder: Path, *, seed: int, orders: int = 24, skus: int = 40, changed: float = 0.0
) -> Shop:
    sandbox = TemuSandbox(seed=seed, orders=orders, skus=skus, rate_limit=None)
    server = SandboxServer(sandbox)
    server.start()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "eazybusiness.db"
    return Shop(sandbox, server, create_matching_replica(path, sandbox, changed=changed), path)


async def add_instance(
    app: FastAPI, name: str, settings: dict[str, Any], *, primary: bool | None = None
) -> str:
    runtime = runtime_of(app)
    async with runtime.transaction() as session:
        instance = await create_instance(
            session,
            runtime.box,
            "temu",
            temu_module.settings_model,
            name,
            settings,
            primary=primary,
        )
    await ensure_default_jobs(runtime, temu_module, instance)
    return instance.id


async def sync(
    api: httpx.AsyncClient, what: str, instance_id: str | None = None, **params: Any
) -> dict[str, Any]:
    """Trigger a sync over the module API and wait for the run to end."""
    prefix = f"/api/temu/instances/{instance_id}" if instance_id else "/api/temu"
    answer = await api.post(f"{prefix}/{what}/sync", params=params, headers=ADMIN)
    assert answer.status_code == 202, answer.text
    return await wait_for_run(api, answer.json()["run_id"])


async def sync_orders(api: httpx.AsyncClient, instance_id: str | None = None) -> dict[str, Any]:
    return await sync(api, "orders", instance_id, days_back=30)


def counts(run: dict[str, Any]) -> dict[str, int]:
    found: dict[str, int] = run["result"].get("counts", {})
    return found


def exports(app: FastAPI, run: dict[str, Any]) -> dict[str, Path]:
    folder = runtime_of(app).settings.data_dir / "exports" / run["id"]
    return {entry["name"]: folder / entry["name"] for entry in run["result"].get("exports", [])}


async def count_rows(app: FastAPI, model: Any, **where: Any) -> int:
    async with runtime_of(app).db.session() as session:
        statement = select(func.count()).select_from(model)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        return int(await session.scalar(statement) or 0)


async def jtl_queued(shop: Shop) -> set[str]:
    async with JtlDatabase.from_url(shop.jtl_url) as jtl:
        statuses = await jtl.order_import_status(shop.to_ship())
    return {n for n, s in statuses.items() if s.state.value != "missing"}


async def worker_ships(shop: Shop) -> int:
    worker = JtlWorkerSimulator(shop.jtl_url)
    try:
        await worker.import_pending()
        return len(await worker.ship())
    finally:
        await worker.close()


def set_jtl_stock(shop: Shop, sku: Sku, quantity: int) -> None:
    """Set the article's stock in JTL's first warehouse."""
    engine = create_jtl_engine(shop.jtl_url)
    try:
        with engine.begin() as conn:
            article = conn.exec_driver_sql(
                "SELECT kArtikel FROM tArtikel WHERE cArtNr = ?", (sku.sku_sn,)
            ).scalar_one()
            set_stock(conn, article, 1, Decimal(quantity))
    finally:
        engine.dispose()


def jtl_order(
    number: str, *lines: tuple[str, int], customer_number: str = "", shipping: str = "DHL Paket"
) -> JtlOrder:
    """Lines of (SKU, quantity) at 11.90 gross each, shipping 4.99, to Berlin."""
    address = JtlAddress(
        first_name="Jörg", last_name="Weiß", street="Hauptstraße 1", postcode="10115",
        city="Berlin", country="DE", email="relay-1@example.invalid",
    )  # fmt: skip
    return JtlOrder(
        external_order_number=number,
        created_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
        currency="EUR",
        customer=address,
        delivery_address=address,
        lines=tuple(
            JtlOrderLine(sku, Decimal(qty), Decimal("11.90"), Decimal(19), sku=sku)
            for sku, qty in lines
        ),
        shipping=JtlOrderLine(
            "Versandkosten", Decimal(1), Decimal("4.99"), Decimal(19), kind=LineKind.SHIPPING
        ),
        customer_number=customer_number,
        shipping_method_name=shipping,
    )
