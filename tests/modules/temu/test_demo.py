"""The TEMU demo world: sandbox, replica, simulated JTL-Worker and a primary instance."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobwerk.config import Settings
from jobwerk.core.states import SUCCEEDED
from jobwerk.modules.temu import demo
from jobwerk.modules.temu.demo import DemoWorld, prepare_temu_demo
from jobwerk.modules.temu.jtl import ImportState, JtlDatabase
from tests.support.api import ADMIN, make_settings, wait_for_run


@pytest.fixture
def demo_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path).model_copy(update={"modules": ["temu"]})


@pytest.fixture
def world(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoWorld]:
    monkeypatch.setattr(demo, "WORKER_SECONDS", 0.1)
    monkeypatch.setattr(demo, "SHIP_AFTER_SECONDS", 0.0)
    started = prepare_temu_demo(demo_settings)
    assert started is not None
    yield started
    started.stop()


@pytest.fixture
def api_settings(demo_settings: Settings, world: DemoWorld) -> Settings:
    """``app`` starts once the demo world is prepared in its data folder."""
    return demo_settings


async def _sync(api: httpx.AsyncClient) -> dict[str, Any]:
    answer = await api.post("/api/temu/orders/sync", headers=ADMIN)
    assert answer.status_code == 202, answer.text
    return await wait_for_run(api, answer.json()["run_id"])


async def test_demo_orders_go_to_jtl_ship_and_report_back(
    api: httpx.AsyncClient, world: DemoWorld
) -> None:
    info = (await api.get("/api/temu/info", headers=ADMIN)).json()
    assert info["instance"]["name"] == "Demo shop" and info["instance"]["is_primary"]
    jobs = {job["id"]: job for w in info["workflows"] for job in w["jobs"]}
    assert jobs["sync_orders"]["interval_minutes"] == demo.DEMO_INTERVAL_MINUTES
    health = (await api.get("/api/temu/health", headers=ADMIN)).json()
    # Like a new shop, the demo token lacks the sensitive amount query: a warning, nothing worse.
    assert health["status"] == "warning", health
    checks = health["checks"]
    assert (checks["temu"]["status"], checks["jtl"]["status"]) == ("ok", "ok")
    assert [m["api"] for m in checks["scopes"]["missing"]] == ["bg.order.amount.query"]

    listed = await api.get("/api/v1/jobs", params={"workflow": "temu.sync_orders"}, headers=ADMIN)
    started = listed.json()["jobs"]
    assert [run["trigger"] for run in started] == ["demo"], "the demo starts a first sync"
    first = await wait_for_run(api, started[0]["id"])
    assert first["status"] in SUCCEEDED, first
    queued = first["result"]["jtl"]["queued"]
    assert queued >= demo.FRESH_ORDERS

    numbers = [o.parent_order_sn for o in world.server.sandbox.state.orders.values()]
    async with JtlDatabase.from_url(world.jtl_url) as jtl:
        # The demo's Wawi worker imports the queued orders, then ships them with tracking.
        for _ in range(200):
            states = await jtl.order_import_status(numbers)
            imported = [n for n, s in states.items() if s.state is ImportState.IMPORTED]
            tracked = [n for n, packages in (await jtl.read_tracking(imported)).items() if packages]
            if len(tracked) >= queued:
                break
            await asyncio.sleep(0.05)

    second = await _sync(api)
    assert second["status"] in SUCCEEDED, second
    # The fast worker may ship while the first sync still runs: it reports those already.
    reported = first["result"]["tracking"]["confirmed"] + second["result"]["tracking"]["confirmed"]
    assert reported == queued
    shipped = [o for o in world.server.sandbox.state.orders.values() if o.status == 4]
    assert len(shipped) >= queued


def test_demo_is_skipped_without_the_temu_module(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.modules == ["demo"]
    assert prepare_temu_demo(settings) is None
