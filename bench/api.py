"""API benchmark over loopback against a real ``jobwerk serve`` process.

1. ``GET /health`` at 50 clients (the floor of server and load generator), then
   ``GET /api/v1/jobs?limit=50`` with 10,000 stored runs, at 50 and 200 concurrent clients
   (each a keep-alive connection asking for gzip, as browsers and httpx do), at 50 clients
   while a run executes (its progress changes the list several times a second), and at 50
   with ``Cache-Control: no-cache`` (every request reads the database); each load is timed
   after a 2-second warm-up on the same connections.
2. ``/ws/logs`` fan-out: 500 connected clients, latency from a job state change (a toggle) to
   each client receiving the ``jobs_update`` that shows it.

Prints one line per figure. Usage:
``python bench/api.py [--seconds 10] [--clients 500] [--workers 1]`` (server processes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO

import httpx
import uvloop
from websockets.asyncio.client import ClientConnection, connect

from jobwerk.core import auth
from jobwerk.storage.db import Database
from jobwerk.storage.models import Run, utcnow

RUNS = 10_000
WARM_UP_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def seed(data_dir: Path, runs: int = RUNS) -> str:
    """Store ``runs`` finished runs and an admin API key; returns the key."""
    database = Database(f"sqlite+aiosqlite:///{data_dir / 'jobwerk.db'}")
    await database.upgrade()
    start = utcnow() - timedelta(days=30)
    async with database.write() as session:
        session.add_all(
            Run(
                workflow="demo.example",
                status=("completed", "failed", "cancelled")[index % 3],
                trigger="schedule",
                params={"items": 10},
                progress=100.0,
                created_at=start + timedelta(seconds=index * 60),
                started_at=start + timedelta(seconds=index * 60 + 1),
                finished_at=start + timedelta(seconds=index * 60 + 30),
            )
            for index in range(runs)
        )
        _, key = await auth.create_api_key(session, "bench", auth.Role.ADMIN)
    await database.dispose()
    return key


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


@asynccontextmanager
async def jobwerk_serve(
    data_dir: Path,
    env: dict[str, str],
    *args: str,
    stderr: int | IO[bytes] = asyncio.subprocess.DEVNULL,
) -> AsyncIterator[tuple[int, int]]:
    """A ready ``python -m jobwerk serve`` on a free port over ``data_dir`` (``env`` adds to or
    overrides its settings); yields its port and process id, and stops it on exit."""
    port = free_port()
    settings = {
        **os.environ,
        "JOBWERK_DATA_DIR": str(data_dir),
        "JOBWERK_LOG__LEVEL": "WARNING",
        "JOBWERK_ENGINE__SCHEDULER": "false",
        **env,
    }
    command = [sys.executable, "-m", "jobwerk", "serve", "--port", str(port), *args]
    server = await asyncio.create_subprocess_exec(
        *command, env=settings, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
    )
    try:
        await wait_ready(f"http://127.0.0.1:{port}")
        yield port, server.pid
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)


class KeepAlive:
    """One keep-alive HTTP/1.1 connection that sends a fixed GET and reads the answer.

    The list load uses it instead of httpx: httpx's connection pool spends more CPU per request
    than the server does, and on a 2-core machine the load generator shares the server's cores.
    """

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self) -> tuple[int, bytes, bool]:
        """The status, the body and whether it is gzipped. Raises ValueError on failures."""
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        try:
            writer.write(self.request)
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            fields = dict(line.lower().split(": ", 1) for line in head[1:] if line)
            body = await reader.readexactly(int(fields["content-length"]))
        except (OSError, ValueError, KeyError, asyncio.IncompleteReadError) as exc:
            self.close()
            raise ValueError(f"broken answer: {exc!r}") from exc
        return int(head[0].split(" ", 2)[1]), body, fields.get("content-encoding") == "gzip"

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def answered_well(status: int, body: bytes, gzipped: bool, check: Callable[[bytes], bool]) -> bool:
    try:
        return status == 200 and check(zlib.decompress(body, wbits=31) if gzipped else body)
    except (zlib.error, ValueError, KeyError, TypeError):
        return False


def fifty_runs(body: bytes) -> bool:
    return len(json.loads(body)["jobs"]) == 50


async def load(
    port: int,
    key: str,
    path: str,
    concurrency: int,
    seconds: float,
    check: Callable[[bytes], bool],
    *,
    fresh: bool = False,
    note: str = "",
) -> None:
    headers = f"Host: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\nAccept-Encoding: gzip\r\n"
    if fresh:
        headers += "Cache-Control: no-cache\r\n"
    request = f"GET {path} HTTP/1.1\r\n{headers}\r\n".encode()
    latencies: list[float] = []
    answers: list[tuple[int, bytes, bool]] = []
    broken = 0
    # Timed after a warm-up on the same connections: the burst of new connections and the
    # first reads of a freshly started phase are not the steady state being measured.
    measured_from = time.perf_counter() + WARM_UP_SECONDS
    deadline = measured_from + seconds

    async def worker() -> None:
        nonlocal broken
        connection = KeepAlive("127.0.0.1", port, request)
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                async with asyncio.timeout(30):
                    answers.append(await connection.get())
            except (ValueError, TimeoutError):
                connection.close()
                broken += 1
            if began >= measured_from:
                latencies.append(time.perf_counter() - began)
        connection.close()

    # The generator's own garbage collection pauses would count as server latency.
    gc.disable()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    gc.enable()
    # Every answer is checked, once the clock has stopped: it is the generator's work.
    wrong = sum(not answered_well(*answer, check) for answer in answers)
    print(
        f"GET {path}{f' ({RUNS} runs)' if 'jobs' in path else ''}"
        f"{' no-cache' if fresh else ''}{note} c={concurrency}: "
        f"{len(latencies) / seconds:.0f} req/s, p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, errors {broken + wrong}/"
        f"{broken + len(answers)} (incl. {WARM_UP_SECONDS:.0f} s warm-up)"
    )


@asynccontextmanager
async def executing_run(base: str, key: str) -> AsyncIterator[None]:
    """A demo run reporting progress for as long as the block lasts; cancelled after it."""
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}) as client:
        answer = await client.post(
            "/api/jobs/demo_example/run-now", json={"items": 100_000, "delay": 0.002}
        )
        run_id = answer.json()["run_id"]  # it starts within the load's warm-up
        try:
            yield
        finally:
            run = (await client.get(f"/api/v1/jobs/{run_id}")).json()
            await client.delete(f"/api/v1/jobs/{run_id}")
        print(f"  (that run was {run['status']} at {run['progress']:.1f} % when the load ended)")


async def until_enabled(ws: ClientConnection, enabled: bool) -> float:
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "jobs_update" and message["data"][0]["enabled"] is enabled:
            return time.perf_counter()


async def fan_out(base: str, key: str, clients: int, rounds: int) -> None:
    url = base.replace("http://", "ws://") + f"/ws/logs?api_key={key}"
    sockets: list[ClientConnection] = []
    for batch in range(0, clients, 50):
        sockets += await asyncio.gather(
            *(connect(url, open_timeout=30, max_size=None) for _ in range(batch, batch + 50))
        )
    for ws in sockets:  # the snapshot every client gets on connect
        while json.loads(await ws.recv())["type"] != "jobs_update":
            pass
    every: list[float] = []
    last: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}) as client:
        enabled = (await client.get("/api/jobs/demo_example")).json()["enabled"]
        for _ in range(rounds):
            enabled = not enabled
            waiters = [asyncio.create_task(until_enabled(ws, enabled)) for ws in sockets]
            began = time.perf_counter()
            await client.post(f"/api/jobs/demo_example/toggle?enabled={str(enabled).lower()}")
            arrived = await asyncio.gather(*waiters)
            every += [moment - began for moment in arrived]
            last.append(max(arrived) - began)
            await asyncio.sleep(0.2)
    await asyncio.gather(*(ws.close() for ws in sockets))
    print(
        f"/ws/logs fan-out to {clients} clients, state change -> client ({rounds} changes): "
        f"p50 {statistics.median(every) * 1000:.1f} ms, p99 {percentile(every, 0.99) * 1000:.1f} ms"
    )
    print(
        f"/ws/logs fan-out to {clients} clients, state change -> last client: "
        f"p50 {statistics.median(last) * 1000:.1f} ms, p99 {percentile(last, 0.99) * 1000:.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="jobwerk serve --workers")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        key = await seed(data_dir)
        env = {"JOBWERK_MODULES": '["demo"]', "JOBWERK_API__WS_HEARTBEAT_SECONDS": "30"}
        workers = ("--workers", str(options.workers))
        async with jobwerk_serve(data_dir, env, *workers) as (port, _):
            base = f"http://127.0.0.1:{port}"
            print(f"jobwerk serve --workers {options.workers}")
            # The floor: the same load on a route that does next to nothing.
            await load(port, key, "/health", 50, options.seconds, lambda _: True)
            path = "/api/v1/jobs?limit=50"
            for concurrency in (50, 200):
                await load(port, key, path, concurrency, options.seconds, fifty_runs)
            # A run executing meanwhile changes the list several times a second.
            async with executing_run(base, key):
                await load(
                    port, key, path, 50, options.seconds, fifty_runs, note=" while a run executes"
                )
            await load(port, key, path, 50, options.seconds, fifty_runs, fresh=True)
            await fan_out(base, key, options.clients, options.rounds)


if __name__ == "__main__":
    uvloop.run(main())
