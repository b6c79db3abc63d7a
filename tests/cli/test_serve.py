"""``jobwerk serve --workers 2`` as a real process tree: both workers serve, events flow."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.api import free_port

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
    # Certificates that are files but no certificates: each server process fails on them.
    certificates = tmp_path / "certificates"
    certificates.mkdir()
    (certificates / "cert.pem").write_text("not a certificate")
    (certificates / "key.pem").write_text("not a key")
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "jobwerk", "serve", "--port", str(free_port()), "--workers", "2"),
        env={**os.environ, "JOBWERK_DATA_DIR": str(tmp_path), "JOBWERK_MODULES": '["demo"]'},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(server.communicate(), 90)
    assert server.returncode == 1
    assert "failed to start" in output.decode()


@pytest.mark.parametrize("arguments", [["demo", "--port", "{port}"], ["serve", "--workers", "2"]])
def test_a_taken_port_stops_the_server_before_it_changes_anything(
    tmp_path: Path, arguments: list[str]
) -> None:
    command = arguments[0]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        finished = subprocess.run(
            [sys.executable, "-m", "jobwerk", *(part.format(port=port) for part in arguments)],
            env={**os.environ, "JOBWERK_DATA_DIR": str(tmp_path), "JOBWERK_API__PORT": port},
            capture_output=True,
            text=True,
            timeout=60,
        )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 2, output
    [line] = output.splitlines()
    assert f"port {port} on 127.0.0.1 is already in use" in line
    assert f"make {command} PORT=8011 or JOBWERK_API__PORT=8011 jobwerk {command}" in line
    assert not (tmp_path / "jobwerk.db").exists()  # no admin made, nothing migrated


async def _demo(data_dir: Path, port: int) -> tuple[asyncio.subprocess.Process, list[str]]:
    """Start ``jobwerk demo``; returns the process and what it printed until it served."""
    demo = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "jobwerk", "demo", "--port", str(port)),
        env={**os.environ, "JOBWERK_DATA_DIR": str(data_dir), "JOBWERK_LOG__LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert demo.stdout is not None
    printed: list[str] = []
    async with asyncio.timeout(90):
        while not printed or "jobwerk on http://" not in printed[-1]:
            printed.append((await demo.stdout.readline()).decode())
            assert printed[-1], printed  # the demo ended
    async with httpx.AsyncClient() as client, asyncio.timeout(60):
        while True:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return demo, printed
            except httpx.TransportError:
                await asyncio.sleep(0.2)


async def _cli(data_dir: Path, *args: str) -> str:
    command = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "jobwerk", *args),
        env={**os.environ, "JOBWERK_DATA_DIR": str(data_dir)},
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await command.communicate()
    assert command.returncode == 0, output
    return output.decode()


async def test_demo_prints_the_admin_password_once_and_keys_work_on_its_data_folder(
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo, printed = await _demo(tmp_path, port)
    try:
        [line] = [line for line in printed if "Log in as admin" in line]
        password = line.split("password ")[1].split(" (shown only once)")[0]
        async with httpx.AsyncClient(base_url=base) as client:
            login = {"username": "admin", "password": password}
            assert (await client.post("/api/v1/auth/login", json=login)).status_code == 200
            assert (await client.get("/api/v1/auth/session")).json()["role"] == "admin"
            # A key made by the CLI on the running server's data folder works at once ...
            key = json.loads(
                await _cli(tmp_path, "keys", "create", "ci", "--role", "operator", "--json")
            )["key"]
            headers = {"X-API-Key": key}
            assert (await client.get("/api/jobs", headers=headers)).status_code == 200
            # ... and stops working soon after the CLI revokes it (the server caches keys 5 s).
            await _cli(tmp_path, "keys", "revoke", "ci")
            async with asyncio.timeout(15):
                while True:
                    answer = await client.get("/api/jobs", headers=headers)
                    if answer.status_code != 200:
                        break
                    await asyncio.sleep(0.5)
            assert answer.status_code == 401
    finally:
        demo.terminate()
        await asyncio.wait_for(demo.wait(), 30)
    again, printed = await _demo(tmp_path, port)
    again.terminate()
    await asyncio.wait_for(again.wait(), 30)
    assert not any("password" in line for line in printed), printed
