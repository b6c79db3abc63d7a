"""In-memory caches of hot reads: expiry, one load per key, and run pages dropped on change."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from jobwerk.api._cache import RunPages
from jobwerk.core import events
from jobwerk.core.cache import ExpiringCache
from jobwerk.core.events import EventBus
from jobwerk.core.runtime import Runtime
from jobwerk.storage.models import Run
from tests.support.api import ADMIN, trigger, wait_for_run


class Loader:
    """Counts loads; each answers the next number, after ``gate`` opens when one is given."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.calls = 0
        self.gate = gate

    async def __call__(self) -> bytes:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return b"%d" % self.calls


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_fresh_value_is_served_without_loading() -> None:
    cache: ExpiringCache[bytes] = ExpiringCache(ttl=5, size=10, clock=Clock())
    load = Loader()
    assert await cache.get("a", load) == b"1"
    assert await cache.get("a", load) == b"1"
    assert await cache.get("b", load) == b"2"
    assert load.calls == 2


async def test_callers_missing_one_key_together_share_one_load() -> None:
    cache: ExpiringCache[bytes] = ExpiringCache(ttl=5, size=10, clock=Clock())
    gate = asyncio.Event()
    load = Loader(gate)
    waiting = [asyncio.create_task(cache.get("a", load)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [b"1"] * 20
    assert load.calls == 1


async def test_a_value_just_past_its_ttl_is_served_while_it_reloads() -> None:
    clock = Clock()
    cache: ExpiringCache[bytes] = ExpiringCache(ttl=5, size=10, clock=clock)
    load = Loader()
    await cache.get("a", load)
    clock.now += 6  # stale, but less than another ttl
    assert await cache.get("a", load) == b"1"  # the old value, at once
    await asyncio.sleep(0)  # the reload runs
    assert await cache.get("a", load) == b"2"
    clock.now += 11  # older than twice the ttl: wait for the load
    assert await cache.get("a", load) == b"3"


async def test_values_keep_refuses_are_not_kept_and_ttl_zero_never_caches() -> None:
    cache: ExpiringCache[bytes] = ExpiringCache(ttl=5, size=10, clock=Clock())
    load = Loader()
    assert await cache.get("a", load, keep=lambda value: value != b"1") == b"1"
    assert await cache.get("a", load, keep=lambda value: value != b"1") == b"2"
    assert await cache.get("a", load, keep=lambda value: value != b"1") == b"2"
    clock = Clock()
    revoked: ExpiringCache[bytes] = ExpiringCache(ttl=5, size=10, clock=clock)
    await revoked.get("a", Loader())
    clock.now += 6
    refuse = Loader()
    refuse.calls = 41
    assert await revoked.get("a", refuse, keep=lambda value: value != b"42") == b"1"
    await asyncio.sleep(0)  # the reload refuses its value: the stale one goes too
    assert await revoked.get("a", refuse, keep=lambda value: value != b"42") == b"43"
    off: ExpiringCache[bytes] = ExpiringCache(ttl=0, size=10)
    assert [await off.get("a", load) for _ in range(2)] == [b"3", b"4"]


async def test_a_failed_load_reaches_every_waiter_and_is_not_kept() -> None:
    cache: ExpiringCache[bytes] = ExpiringCache(ttl=5, size=10, clock=Clock())
    gate = asyncio.Event()

    async def broken() -> bytes:
        await gate.wait()
        raise ConnectionError("database gone")

    waiting = [asyncio.create_task(cache.get("a", broken)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    assert await cache.get("a", Loader()) == b"1"


async def test_a_value_loaded_across_a_clear_is_not_kept() -> None:
    cache: ExpiringCache[bytes] = ExpiringCache(ttl=5, size=10, clock=Clock())
    gate = asyncio.Event()
    load = Loader(gate)
    first = asyncio.create_task(cache.get("a", load))
    await asyncio.sleep(0)
    cache.clear()  # what the load reads may predate this
    gate.set()
    assert await first == b"1"
    assert await cache.get("a", load) == b"2"


@pytest.mark.parametrize(
    ("event", "dropped"),
    [
        (events.run_status("r", None, status="running"), True),
        (events.step_progress("r", None, progress=50), False),
        (events.step_status("r", None, step="s", status="completed"), True),
        (events.run_deleted("r", None), True),
        (events.log_line("r", None, message="hello"), False),
        (events.job_changed("j", enabled=False), False),
    ],
)
async def test_run_pages_are_dropped_when_a_run_changes(event: events.Event, dropped: bool) -> None:
    bus = EventBus()
    pages = RunPages(bus, ttl=60)
    load = Loader()
    await pages.get("page", load)
    bus.publish(event)
    bus.publish(event)  # more events than the subscription holds change nothing
    assert await pages.get("page", load) == (b"2" if dropped else b"1")
    assert await pages.get("page", load) == (b"2" if dropped else b"1")


async def test_a_run_page_read_while_a_run_changed_is_not_kept() -> None:
    bus = EventBus()
    pages = RunPages(bus, ttl=60)
    gate = asyncio.Event()
    load = Loader(gate)
    reading = asyncio.create_task(pages.get("page", load))
    await asyncio.sleep(0)
    bus.publish(events.run_status("r", None, status="completed"))
    gate.set()
    assert await reading == b"1"
    assert await pages.get("page", load) == b"2"


async def test_the_run_list_shows_changes_made_through_the_app_at_once(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.get("/api/v1/jobs", headers=ADMIN)).json()["jobs"] == []
    run_id = await trigger(api)
    listed = (await api.get("/api/v1/jobs", headers=ADMIN)).json()["jobs"]
    assert [run["id"] for run in listed] == [run_id]


async def test_no_cache_reads_what_another_process_wrote(
    app: FastAPI, api: httpx.AsyncClient, app_runtime: Runtime
) -> None:
    app.state.run_pages.ttl = 3600
    assert (await api.get("/api/v1/jobs", headers=ADMIN)).json()["jobs"] == []
    async with app_runtime.db.write() as session:  # as the CLI or another node would: no event
        session.add(Run(workflow="demo.example", status="queued", trigger="api", params={}))
    cached = await api.get("/api/v1/jobs", headers=ADMIN)
    assert cached.json()["jobs"] == []  # served from memory until the ttl
    fresh = await api.get("/api/v1/jobs", headers={**ADMIN, "Cache-Control": "no-cache"})
    assert fresh.json()["pagination"]["total"] == 1


async def test_a_deleted_run_leaves_the_list_at_once(api: httpx.AsyncClient) -> None:
    run_id = await trigger(api)
    await wait_for_run(api, run_id)
    assert (await api.get("/api/v1/jobs", headers=ADMIN)).json()["jobs"] != []
    assert (await api.delete(f"/api/v1/jobs/{run_id}", headers=ADMIN)).status_code == 200
    assert (await api.get("/api/v1/jobs", headers=ADMIN)).json()["jobs"] == []
