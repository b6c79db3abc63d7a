"""A module's per-process resources: made on first use, shared by the runs of a process and
closed when it stops — the same whether `serve`, `worker` or `jobs run --wait` executes the run.

The demo module's resource records the process that made it and counts the runs it served.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobwerk.config import Settings
from jobwerk.core import run_service
from jobwerk.core.resources import ProcessResources
from jobwerk.core.runtime import Runtime
from jobwerk.modules.demo import module as demo_module
from jobwerk.modules.registry import register_module
from tests.support.api import free_port
from tests.support.engine import wait_for

KEY = "resources-test-key"
QUICK = {"items": 1, "delay": 0}


def outlets(results: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(result["outlet"]["process"], result["outlet"]["runs"]) for result in results]


async def test_resources_are_made_once_shared_and_closed_last_made_first() -> None:
    made: list[str] = []

    def factory(name: str) -> Any:
        @asynccontextmanager
        async def resource() -> AsyncIterator[str]:
            made.append(f"made {name}")
            yield name
            made.append(f"closed {name}")

        return resource

    resources = ProcessResources()
    resources.provide("a", factory("a"))
    resources.provide("b", factory("b"))
    resources.provide("none", lambda: None)
    assert made == []  # nothing is made before a step needs it
    first = await asyncio.gather(*(resources.get("a") for _ in range(5)))
    assert first == ["a"] * 5 and await resources.get("b") == "b"
    assert await resources.get("none") is None and await resources.get("unknown") is None
    await resources.close()
    assert made == ["made a", "made b", "closed b", "closed a"]


async def test_runs_in_one_process_share_its_resources(runtime: Runtime) -> None:
    results = []
    for _ in range(2):
        async with runtime.transaction() as session:
            run = await run_service.enqueue_run(session, runtime.workflows, "demo.example", QUICK)
        finished = await wait_for(runtime, run.id)
        assert finished.status == "completed", finished.error
        results.append(finished.result)
    assert outlets(results) == [(os.getpid(), 1), (os.getpid(), 2)]


async def test_runs_of_a_server_share_its_resources(tmp_path: Path) -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "jobwerk", "serve", "--port", str(port)),
        env={
            **os.environ,
            "JOBWERK_DATA_DIR": str(tmp_path),
            "JOBWERK_MODULES": '["demo"]',
            "JOBWERK_API__KEY": KEY,
            "JOBWERK_ENGINE__SCHEDULER": "false",
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    headers = {"X-API-Key": KEY}
    results = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as api:
            async with asyncio.timeout(60):
                await _until_up(api)
                for _ in range(2):
                    started = await api.post("/api/jobs/demo_example/run-now", json=QUICK)
                    assert started.status_code == 202, started.text
                    results.append(await _finished(api, started.json()["run_id"]))
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)
    assert outlets(results) == [(server.pid, 1), (server.pid, 2)]


async def _until_up(api: httpx.AsyncClient) -> None:
    while True:
        try:
            if (await api.get("/api/v1/system/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)


async def _finished(api: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    while True:
        run = (await api.get(f"/api/v1/jobs/{run_id}")).json()
        if run["status"] in ("completed", "failed", "cancelled"):
            assert run["status"] == "completed", run
            result: dict[str, Any] = run["result"]
            return result
        await asyncio.sleep(0.1)


@pytest.mark.postgres
async def test_runs_of_a_worker_share_its_resources(settings: Settings, pg_url: str) -> None:
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "jobwerk", "worker"),
        env={
            **os.environ,
            "JOBWERK_DATA_DIR": str(settings.data_dir),
            "JOBWERK_DATABASE__URL": pg_url,
            "JOBWERK_ENGINE__EXECUTOR": "procrastinate",
            "JOBWERK_MODULES": '["demo"]',
        },
        stdout=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None
    queue = settings.model_copy(
        update={
            "database": settings.database.model_copy(update={"url": pg_url}),
            "engine": settings.engine.model_copy(update={"executor": "procrastinate"}),
        }
    )
    node = Runtime(queue)  # enqueues only, like an API node without an executor
    register_module(node, "demo", demo_module)
    results = []
    try:
        async with asyncio.timeout(60):
            while b"executing runs" not in await worker.stdout.readline():
                pass
        for _ in range(2):
            async with node.transaction() as session:
                run = await run_service.enqueue_run(session, node.workflows, "demo.example", QUICK)
            finished = await wait_for(node, run.id, within=30)
            assert finished.status == "completed", finished.error
            results.append(finished.result)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0
        await node.db.dispose()
    assert outlets(results) == [(worker.pid, 1), (worker.pid, 2)]


def test_each_jobs_run_wait_makes_its_own(tmp_path: Path) -> None:
    env = {**os.environ, "JOBWERK_DATA_DIR": str(tmp_path), "JOBWERK_MODULES": '["demo"]'}
    command = [sys.executable, "-m", "jobwerk", "jobs", "run", "demo_example", "--wait", "--json"]
    for _ in range(2):
        process = subprocess.Popen(
            [*command, "-p", "items=1", "-p", "delay=0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        output, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
        assert outlets([json.loads(output)["result"]]) == [(process.pid, 1)]
