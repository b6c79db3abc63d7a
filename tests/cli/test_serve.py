"""``jobwerk serve --workers 2`` as a real process tree: both workers serve, events flow."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.api.conftest import free_port

KEY = "serve-test-admin-key"


async def test_serve_with_two_workers_shares_job_changes_with_every_client(
    tmp_path: Path,
) -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "jobwerk", "serve", "--port", str(port), "--workers", "2"),
        env={
            **os.environ,
            "JOBWERK_DATA_DIR": str(tmp_path),
            "JOBWERK_MODULES": '["demo"]',
            "JOBWERK_API__KEY": KEY,
            "JOBWERK_ENGINE__SCHEDULER": "false",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": KEY}) as client:
            async with asyncio.timeout(60):
                while True:
                    try:
                        if (await client.get("/api/v1/system/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
            sockets = [
                await connect(f"ws://127.0.0.1:{port}/ws/logs?api_key={KEY}") for _ in range(12)
            ]
            for ws in sockets:
                assert json.loads(await ws.recv())["type"] == "jobs_update"
            toggled = await client.post("/api/jobs/demo_example/toggle?enabled=false")
            assert toggled.status_code == 200, toggled.text
            async with asyncio.timeout(15):
                for ws in sockets:
                    while True:
                        message = json.loads(await ws.recv())
                        if message["type"] == "jobs_update" and not message["data"][0]["enabled"]:
                            break
            for ws in sockets:
                await ws.close()
    finally:
        server.terminate()
        output, _ = await asyncio.wait_for(server.communicate(), 30)
    assert "(2 processes)" in output.decode()


async def test_serve_with_workers_stops_when_a_process_cannot_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "jobwerk", "serve", "--port", str(port), "--workers", "2"),
            env={**os.environ, "JOBWERK_DATA_DIR": str(tmp_path), "JOBWERK_MODULES": '["demo"]'},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(server.communicate(), 90)
    assert server.returncode == 1
    assert "failed to start" in output.decode()
