"""WebSockets against a real uvicorn server: ``/ws/logs`` and the run stream."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from jobwerk.api import ws
from jobwerk.config import Settings
from jobwerk.core import events
from jobwerk.core.runtime import Runtime
from jobwerk.sdk import stream
from jobwerk.sdk.deps import SESSION_COOKIE
from tests.support.api import ADMIN, STATIC_KEY, login, trigger, wait_for_run

STREAMED = {"items": 6, "delay": 0.02}  # a run long enough to stream its steps


async def next_of(ws: ClientConnection, kind: str, seconds: float = 10) -> dict[str, Any]:
    """The next message of type ``kind`` (others are skipped)."""
    async with asyncio.timeout(seconds):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def statuses_until_success(
    ws: ClientConnection, *, seconds: float
) -> tuple[set[str], set[str]]:
    """The job states ``jobs_update`` showed until one said success, and the ids of the runs
    whose log lines arrived meanwhile."""
    statuses: set[str] = set()
    logged: set[str] = set()
    async with asyncio.timeout(seconds):
        while "success" not in statuses:
            message = json.loads(await ws.recv())
            if message["type"] == "jobs_update":
                statuses.add(message["data"][0]["status"])
            elif message["type"] == "log":
                logged.add(message["data"]["run_id"])
    return statuses, logged


async def test_ws_logs_refuses_anonymous_and_bad_keys(live_server: str) -> None:
    for query in ("", "?api_key=wrong"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://{live_server}/ws/logs{query}"):
                pass
        assert refused.value.response.status_code == 403


async def test_ws_logs_pushes_jobs_updates_logs_and_heartbeats(
    live_server: str, api: httpx.AsyncClient
) -> None:
    async with connect(f"ws://{live_server}/ws/logs?api_key={STATIC_KEY}") as ws:
        first = await next_of(ws, "jobs_update")
        assert first["data"][0]["job_id"] == "demo_example"
        assert first["data"][0]["status"] == "idle"
        answer = await api.post(
            "/api/jobs/demo_example/run-now", json={"items": 4, "delay": 0.01}, headers=ADMIN
        )
        seen, logged = await statuses_until_success(ws, seconds=15)
        assert {"queued", "running", "success"} <= seen or {"running", "success"} <= seen
        assert answer.json()["run_id"] in logged
        heartbeat = await next_of(ws, "heartbeat", seconds=3)
        assert heartbeat["timestamp"] > 0


async def test_ws_logs_header_auth(live_server: str) -> None:
    async with connect(
        f"ws://{live_server}/ws/logs", additional_headers={"X-API-Key": STATIC_KEY}
    ) as ws:
        assert (await next_of(ws, "jobs_update"))["data"]


async def test_ws_session_cookie_from_the_dashboard_origin_only(
    live_server: str, api: httpx.AsyncClient
) -> None:
    await login(api, "viewer")
    cookie = {"Cookie": f"{SESSION_COOKIE}={api.cookies[SESSION_COOKIE]}"}
    own = {**cookie, "Origin": f"http://{live_server}"}
    for path in ("/ws/logs", "/api/v1/jobs/unknown/stream"):
        async with connect(f"ws://{live_server}{path}", additional_headers=own) as ws:
            assert json.loads(await ws.recv())["type"] in ("jobs_update", "error")
        foreign = {**cookie, "Origin": "https://evil.example"}
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://{live_server}{path}", additional_headers=foreign):
                pass
        assert refused.value.response.status_code == 403
    expired = {**own, "Cookie": f"{SESSION_COOKIE}=not-a-session"}
    with pytest.raises(InvalidStatus):
        async with connect(f"ws://{live_server}/ws/logs", additional_headers=expired):
            pass


async def stalled_client(server: str, path: str) -> asyncio.StreamWriter:
    """A WebSocket client that completes the handshake and then never reads again."""
    host, port = server.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
    return writer


@pytest.fixture(autouse=True)
def quick_send_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "SEND_TIMEOUT_SECONDS", 1.0)


async def test_slow_client_is_dropped_and_others_keep_receiving(
    live_server: str, app: FastAPI
) -> None:
    hub = app.state.hub
    bus = app.state.runtime.bus  # events go straight onto the bus, as from a busy run
    path = f"/ws/logs?api_key={STATIC_KEY}"
    stalled = await stalled_client(live_server, path)
    async with connect(f"ws://{live_server}{path}") as fast:
        await next_of(fast, "jobs_update")
        assert hub.client_count == 2
        padding = "x" * 20_000
        received = 0
        async with asyncio.timeout(60):
            while hub.client_count == 2:
                for _ in range(20):
                    bus.publish(events.log_line("r" * 32, None, level="info", message=padding))
                async with asyncio.timeout(5):
                    for _ in range(20):
                        assert (json.loads(await fast.recv()))["type"] in ("log", "heartbeat")
                        received += 1
        assert received >= 20
        # The fast client still gets state changes, promptly.
        bus.publish(events.job_changed("demo_example", action="saved"))
        assert (await next_of(fast, "jobs_update", seconds=5))["data"]
    stalled.close()


async def collect(url: str) -> list[dict[str, Any]]:
    messages = []
    async with connect(url) as ws:
        async with asyncio.timeout(20):
            async for raw in ws:
                messages.append(json.loads(raw))
        assert ws.close_code == 1000
    return messages


async def test_run_stream_state_progress_logs_then_complete(
    live_server: str, api: httpx.AsyncClient
) -> None:
    run_id = await trigger(api, **STREAMED)
    messages = await collect(f"ws://{live_server}/api/v1/jobs/{run_id}/stream?api_key={STATIC_KEY}")
    kinds = [message["type"] for message in messages]
    assert kinds[0] == "status" and messages[0]["data"]["id"] == run_id
    assert {"progress", "log", "status"} <= set(kinds)
    assert kinds[-1] == "complete" and kinds.count("complete") == 1
    assert messages[-1]["data"]["status"] == "completed"
    assert all(message["run_id"] == run_id for message in messages)
    # seed 003's words: the stream's job is the run; the configured job is ``job``
    assert all(message["data"]["job_id"] == run_id for message in messages)
    assert messages[-1]["data"]["job"] == "demo_example"
    progress = [message["data"] for message in messages if message["type"] == "progress"]
    last = next(data for data in reversed(progress) if "current_page" in data)
    assert last["current_page"] == last["total_pages"] == 6
    assert 0 < last["percent_complete"] <= 100 and last["current_operation"]


async def test_run_stream_follows_a_run_given_by_a_unique_prefix(
    live_server: str, api: httpx.AsyncClient
) -> None:
    run_id = await trigger(api, **STREAMED)
    url = f"ws://{live_server}/api/v1/jobs/{run_id[:8]}/stream?api_key={STATIC_KEY}"
    messages = await collect(url)
    assert messages[0]["data"]["id"] == run_id
    assert {"progress", "log"} <= {message["type"] for message in messages}
    assert messages[-1]["type"] == "complete"
    assert all(message["run_id"] == run_id for message in messages)


async def test_run_stream_error_for_failed_finished_and_unknown(
    live_server: str, api: httpx.AsyncClient
) -> None:
    base = f"ws://{live_server}/api/v1/jobs"
    failing = await trigger(api, **STREAMED, fail_in="collect")
    messages = await collect(f"{base}/{failing}/stream?api_key={STATIC_KEY}")
    assert messages[-1]["type"] == "error" and messages[-1]["data"]["status"] == "failed"
    await wait_for_run(api, failing)
    finished = await collect(f"{base}/{failing}/stream?api_key={STATIC_KEY}")
    assert [message["type"] for message in finished] == ["status", "error"]
    async with connect(f"{base}/unknown/stream?api_key={STATIC_KEY}") as ws:
        assert json.loads(await ws.recv())["type"] == "error"
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    with pytest.raises(InvalidStatus):
        async with connect(f"{base}/{failing}/stream"):
            pass


async def test_a_stalled_run_stream_is_dropped_and_others_keep_receiving(
    live_server: str, app: FastAPI, app_runtime: Runtime, api: httpx.AsyncClient
) -> None:
    await app_runtime.executor.stop()  # the run stays queued; its events come straight from the bus
    run_id = await trigger(api, **STREAMED)
    metrics = app.state.metrics
    path = f"/api/v1/jobs/{run_id}/stream?api_key={STATIC_KEY}"
    stalled = await stalled_client(live_server, path)
    padding = "x" * 20_000
    async with connect(f"ws://{live_server}{path}") as fast:
        assert (await next_of(fast, "status"))["data"]["status"] == "queued"
        async with asyncio.timeout(60):
            while metrics.ws_clients[ws.STREAM] == 2:
                for _ in range(20):
                    app_runtime.bus.publish(
                        events.log_line(run_id, None, level="info", message=padding)
                    )
                for _ in range(20):
                    assert (await next_of(fast, "log", seconds=5))["data"]["message"] == padding
        assert metrics.ws_clients[ws.STREAM] == 1  # the stalled one is gone, the fast one stays
    stalled.close()


async def test_a_run_executed_by_another_process_shows_live(
    live_server: str, app_runtime: Runtime, api_settings: Settings
) -> None:
    await app_runtime.executor.stop()  # so that the CLI's process is the one that executes it
    async with connect(f"ws://{live_server}/ws/logs?api_key={STATIC_KEY}") as ws:
        await next_of(ws, "jobs_update")
        cli = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "jobwerk", "jobs", "run", "demo_example", "--wait", "--json"),
            *("-p", "items=3", "-p", "delay=0.05"),
            env={
                **os.environ,
                "JOBWERK_DATA_DIR": str(api_settings.data_dir),
                "JOBWERK_MODULES": '["demo"]',
            },
            stdout=asyncio.subprocess.PIPE,
        )
        statuses, logged = await statuses_until_success(ws, seconds=60)
        output, _ = await cli.communicate()
    assert cli.returncode == 0
    run = json.loads(output)
    assert run["status"] == "completed"
    assert {"running", "success"} <= statuses and run["run_id"] in logged


async def test_a_worker_process_executes_runs_the_server_shows_live(
    live_server: str, app_runtime: Runtime, api_settings: Settings, api: httpx.AsyncClient
) -> None:
    await app_runtime.executor.stop()  # only the worker executes
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "jobwerk", "worker"),
        env={
            **os.environ,
            "JOBWERK_DATA_DIR": str(api_settings.data_dir),
            "JOBWERK_MODULES": '["demo"]',
            "JOBWERK_ENGINE__POLL_SECONDS": "0.2",
        },
        stdout=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None
    try:
        async with asyncio.timeout(60):
            while b"executing runs" not in await worker.stdout.readline():
                pass
        async with connect(f"ws://{live_server}/ws/logs?api_key={STATIC_KEY}") as ws:
            await next_of(ws, "jobs_update")
            answer = await api.post(
                "/api/jobs/demo_example/run-now", json={"items": 3, "delay": 0}, headers=ADMIN
            )
            statuses, logged = await statuses_until_success(ws, seconds=30)
        run_id = answer.json()["run_id"]
        assert (await wait_for_run(api, run_id))["status"] == "completed"
        assert "success" in statuses and run_id in logged
    finally:
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0


async def test_clients_closing_a_run_stream_log_one_debug_line_each(
    live_server: str, api: httpx.AsyncClient, server_log: Callable[[], str]
) -> None:
    run_id = await trigger(api, items=400, delay=0.01)
    url = f"ws://{live_server}/api/v1/jobs/{run_id}/stream?api_key={STATIC_KEY}"
    server_log()
    # Closed at every point: before the first message, while the state is read, mid-stream.
    for attempt in range(60):
        async with connect(url):
            await asyncio.sleep(attempt % 20 / 1000)
    written = ""
    async with asyncio.timeout(10):  # the server notices the last closes a moment later
        while written.count("stream closed by the client") < 60:
            await asyncio.sleep(0.02)
            written += server_log()
    assert "Traceback" not in written and "CancelledError" not in written, written
    assert not re.search(r"\[(warning|error|critical) *\]|\"level\": \"(warning|error)", written)
    assert written.count("stream closed by the client") == 60
