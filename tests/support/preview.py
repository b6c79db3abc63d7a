"""TEMU dry runs as tests check them: everything a sync could change (jobwerk's TEMU tables, the
JTL replica, the TEMU sandbox) captured before and after, and what a run's result and exports say
it would have written."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from jobwerk.modules.temu import models
from jobwerk.storage.models import Base, Run
from tests.support.api import runtime_of, wait_for_run
from tests.support.temu import Shop, exports, sync


async def world_state(app: FastAPI, shop: Shop) -> dict[str, Any]:
    """Every row of jobwerk's TEMU tables, the whole JTL replica, and TEMU's stock, stock
    history, shipments and order states."""
    assert models.__all__  # every TEMU table is in the metadata
    tables: dict[str, list[dict[str, Any]]] = {}
    module_tables = [t for t in Base.metadata.sorted_tables if t.name.startswith("temu_")]
    async with runtime_of(app).db.read() as session:
        for table in module_tables:
            rows = await session.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [dict(row) for row in rows.mappings()]
    connection = sqlite3.connect(shop.jtl_path)
    try:
        jtl = list(connection.iterdump())
    finally:
        connection.close()
    state = shop.sandbox.state
    temu = {
        "stock": {sku_id: sku.stock for sku_id, sku in state.skus.items()},
        "stock_history": {sku_id: len(h) for sku_id, h in state.stock_history.items()},
        "shipments": {
            sn: [s.tracking_number for s in found] for sn, found in state.shipments.items()
        },
        "orders": {sn: order.status for sn, order in state.orders.items()},
    }
    return {"jobwerk": tables, "jtl": jtl, "temu": temu}


async def preview(
    api: httpx.AsyncClient, what: str, instance_id: str | None = None, **params: Any
) -> dict[str, Any]:
    """A dry run of a sync over the module API, waited for."""
    return await sync(api, what, instance_id, dry_run=True, **params)


async def replay(api: httpx.AsyncClient, run_id: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = await api.post(f"/api/temu/runs/{run_id}/replay", headers=headers)
    assert answer.status_code == 202, answer.text
    return await wait_for_run(api, answer.json()["run_id"])


def written(app: FastAPI, run: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """Every write of one kind a dry run held back, from its export."""
    path = exports(app, run).get(f"preview-{kind.replace('_', '-')}.json")
    return json.loads(path.read_text("utf-8")) if path else []


def import_rows(shop: Shop) -> dict[str, str]:
    """JTL's XML import rows: the document by external order number."""
    connection = sqlite3.connect(shop.jtl_path)
    try:
        rows = connection.execute("SELECT cBestellungInetBestellNr, cText FROM tXMLBestellImport")
        return dict(rows.fetchall())
    finally:
        connection.close()


async def run_row(app: FastAPI, run_id: str) -> Run:
    async with runtime_of(app).db.read() as session:
        found = await session.get(Run, run_id)
    assert found is not None
    return found
