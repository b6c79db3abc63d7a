"""The load of ``bench/soak.py``, in its own process: readers, run triggers, WebSocket listeners
and a login attack from other loopback addresses. Writes its figures as JSON when done."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop
from websockets.asyncio.client import connect

READS = ("/api/v1/jobs?limit=20", "/api/jobs", "/api/v1/jobs?status=completed&limit=10")
ATTACKERS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
NAMES = ("admin", "root", "ann", "shop", "temu", "operator", "test", "info")


@dataclass
class Figures:
    started: float = field(default_factory=time.monotonic)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    # minute → read latencies in ms
    reads: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    triggered: list[str] = field(default_factory=list)
    ws_connected: int = 0
    ws_messages: int = 0
    ws_drops: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def minute(self) -> int:
        return int((time.monotonic() - self.started) // 60)

    def count(self, kind: str, status: int) -> None:
        self.statuses[kind][status] += 1

    def failed(self, kind: str, exc: Exception) -> None:
        self.count(kind, 0)
        self.errors[f"{kind}: {type(exc).__name__}"] += 1


async def reader(client: httpx.AsyncClient, figures: Figures, until: float) -> None:
    await asyncio.sleep(random.random())
    while time.monotonic() < until:
        start = time.perf_counter()
        try:
            answer = await client.get(random.choice(READS))
            figures.count("read", answer.status_code)
            if answer.status_code == 200:
                figures.reads[figures.minute()].append((time.perf_counter() - start) * 1000)
        except httpx.HTTPError as exc:
            figures.failed("read", exc)
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - start)))


async def trigger(client: httpx.AsyncClient, figures: Figures, until: float) -> None:
    await asyncio.sleep(random.random() * 10)
    while time.monotonic() < until:
        try:
            answer = await client.post(
                "/api/jobs/demo_example/run-now", json={"items": 3, "delay": 0.05}
            )
            figures.count("trigger", answer.status_code)
            if answer.status_code == 202:
                figures.triggered.append(answer.json()["run_id"])
        except httpx.HTTPError as exc:
            figures.failed("trigger", exc)
        await asyncio.sleep(10)


async def listener(base: str, key: str, figures: Figures, until: float) -> None:
    url = base.replace("http", "ws", 1) + "/ws/logs"
    while time.monotonic() < until:
        try:
            async with connect(url, additional_headers={"X-API-Key": key}, open_timeout=30) as ws:
                figures.ws_connected += 1
                while time.monotonic() < until:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(ws.recv(), 5)
                        figures.ws_messages += 1
                return
        except Exception as exc:  # a refused or dropped connection: count it, connect again
            figures.ws_drops += 1
            figures.errors[f"ws: {type(exc).__name__}"] += 1
            await asyncio.sleep(2)


async def attacker(
    base: str, address: str, per_second: float, figures: Figures, until: float
) -> None:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=30) as client:

        async def attempt() -> None:
            body = {"username": random.choice(NAMES), "password": f"guess-{random.random()}"}
            try:
                figures.count(
                    "login", (await client.post("/api/v1/auth/login", json=body)).status_code
                )
            except httpx.HTTPError as exc:
                figures.failed("login", exc)

        pending: set[asyncio.Task[None]] = set()
        while time.monotonic() < until:
            task = asyncio.create_task(attempt())
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(1 / per_second)
        await asyncio.gather(*pending)


async def load(options: dict[str, Any]) -> Figures:
    figures = Figures()
    until = time.monotonic() + options["seconds"]
    base, key = options["base"], options["key"]
    limits = httpx.Limits(max_connections=options["readers"] + options["triggers"])
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:
        tasks = [reader(client, figures, until) for _ in range(options["readers"])]
        tasks += [trigger(client, figures, until) for _ in range(options["triggers"])]
        tasks += [listener(base, key, figures, until) for _ in range(options["listeners"])]
        if options["attack"] > 0:
            share = options["attack"] / len(ATTACKERS)
            tasks += [attacker(base, address, share, figures, until) for address in ATTACKERS]
        await asyncio.gather(*tasks)
    return figures


def run_load(options: dict[str, Any], out: str) -> None:
    """Entry point of the load process."""
    figures = uvloop.run(load(options))
    Path(out).write_text(
        json.dumps(
            {
                "statuses": {kind: dict(counts) for kind, counts in figures.statuses.items()},
                "reads": {str(minute): values for minute, values in figures.reads.items()},
                "triggered": figures.triggered,
                "ws_connected": figures.ws_connected,
                "ws_messages": figures.ws_messages,
                "ws_drops": figures.ws_drops,
                "errors": dict(figures.errors),
            }
        )
    )
