"""What the Procrastinate executor adds, with two workers on one PostgreSQL database.

The engine's semantics (steps, retries, cancel, stop) run on it in test_runner.py as well.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import text

from jobwerk.config import Settings
from jobwerk.core import instances, run_service
from jobwerk.core.executors._procrastinate import TASK, install_schema
from jobwerk.core.runtime import Runtime
from jobwerk.modules.demo import module as demo_module
from jobwerk.modules.registry import register_module
from jobwerk.storage.models import Run
from tests.support.engine import TEST_WORKFLOWS, wait_for

pytestmark = pytest.mark.postgres


class Shop(BaseModel):
    region: str = "EU"


@pytest.fixture
def queue_settings(settings: Settings, pg_url: str) -> Settings:
    return settings.model_copy(
        update={
            "database": settings.database.model_copy(update={"url": pg_url}),
            "engine": settings.engine.model_copy(
                update={"executor": "procrastinate", "stale_after_seconds": 1.0}
            ),
        }
    )


def runtime_on(settings: Settings) -> Runtime:
    runtime = Runtime(settings)
    for workflow in TEST_WORKFLOWS:
        runtime.workflows.register(workflow)
    return runtime


@pytest.fixture
async def workers(queue_settings: Settings) -> AsyncIterator[list[Runtime]]:
    """Two started workers on one database."""
    started = [runtime_on(queue_settings) for _ in range(2)]
    for runtime in started:
        await runtime.start(scheduler=False)
    yield started
    for runtime in started:
        await runtime.stop()


async def enqueue(runtime: Runtime, workflow: str, instance_id: str | None, **params: Any) -> str:
    async with runtime.transaction() as session:
        run = await run_service.enqueue_run(
            session, runtime.workflows, workflow, params, instance_id=instance_id
        )
    return run.id


async def new_instance(runtime: Runtime, name: str) -> str:
    async with runtime.transaction() as session:
        shop = await instances.create_instance(session, runtime.box, "shop", Shop, name, {})
    return shop.id


async def test_runs_of_one_instance_never_overlap_while_other_runs_do(
    workers: list[Runtime],
) -> None:
    first, second = workers
    shop = await new_instance(first, "DE")
    loop = {"units": 15, "pause": 0.02}
    same = [await enqueue(runtime, "test.loop", shop, **loop) for runtime in (first, second)]
    free = [await enqueue(runtime, "test.loop", None, **loop) for runtime in (first, second)]
    runs = [await wait_for(first, run_id) for run_id in same + free]
    assert {run.status for run in runs} == {"completed"}
    a, b, c, d = runs
    assert a.finished_at <= b.started_at or b.finished_at <= a.started_at  # type: ignore[operator]
    assert c.started_at < d.finished_at and d.started_at < c.finished_at  # type: ignore[operator]


async def test_a_run_queued_by_a_process_without_an_executor_is_executed(
    workers: list[Runtime], queue_settings: Settings
) -> None:
    cli = runtime_on(queue_settings)  # like `jobwerk jobs run`: enqueues, never starts a worker
    run_id = await enqueue(cli, "test.noop", None)
    await cli.db.dispose()
    run = await wait_for(workers[0], run_id)
    assert run.status == "completed"
    assert run.worker == workers[0].env.worker


async def test_the_job_of_a_dead_worker_stops_holding_its_instance(
    queue_settings: Settings,
) -> None:
    runtime = runtime_on(queue_settings)
    await runtime.db.upgrade()
    await install_schema(runtime.env)
    shop = await new_instance(runtime, "DE")
    async with runtime.transaction() as session:
        dead = Run(
            workflow="test.noop",
            instance_id=shop,
            status="running",
            worker="gone:1",
            heartbeat_at=None,
        )
        session.add(dead)
        await session.flush()
        # its job, taken by a worker that no longer exists, still holds the instance's lock
        await session.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, "
                "args, status) VALUES ('default', :task, :lock, :qlock, :args, 'doing')"
            ),
            {
                "task": TASK,
                "lock": f"instance:{shop}",
                "qlock": f"run:{dead.id}",
                "args": f'{{"run_id": "{dead.id}"}}',
            },
        )
    waiting = await enqueue(runtime, "test.noop", shop)
    await runtime.start(scheduler=False)
    try:
        assert (await wait_for(runtime, waiting)).status == "completed"
        async with runtime.db.session() as session:
            run = await run_service.get_run(session, dead.id)
            jobs = (await session.execute(text("SELECT status FROM procrastinate_jobs"))).all()
    finally:
        await runtime.stop()
    assert (run.status, run.reason) == ("failed", "interrupted")
    assert "doing" not in {row.status for row in jobs}


async def test_installing_the_queue_twice_changes_nothing(queue_settings: Settings) -> None:
    runtime = runtime_on(queue_settings)
    await runtime.db.upgrade()
    for _ in range(2):
        await install_schema(runtime.env)
    async with runtime.db.session() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'procrastinate_%'")
        )
    await runtime.db.dispose()
    assert count == 4


async def test_a_worker_process_executes_what_another_process_enqueued(
    queue_settings: Settings, pg_url: str
) -> None:
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "jobwerk", "worker"),
        env={
            **os.environ,
            "JOBWERK_DATA_DIR": str(queue_settings.data_dir),
            "JOBWERK_DATABASE__URL": pg_url,
            "JOBWERK_ENGINE__EXECUTOR": "procrastinate",
            "JOBWERK_MODULES": '["demo"]',
        },
        stdout=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None
    server = runtime_on(queue_settings)  # enqueues only, like an API node without an executor
    register_module(server, "demo", demo_module)
    try:
        async with asyncio.timeout(60):
            while b"executing runs" not in await worker.stdout.readline():
                pass
        run_id = await enqueue(server, "demo.example", None, items=3, delay=0)
        run = await wait_for(server, run_id, within=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0
        await server.db.dispose()
    assert run.status == "completed"
    assert run.worker is not None and run.worker.endswith(f":{worker.pid}")
