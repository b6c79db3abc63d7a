"""The Procrastinate executor: queued runs become jobs in PostgreSQL that any process executes.

Every process with a started executor (``jobwerk serve``, ``jobwerk worker``, on any machine)
is a Procrastinate worker. The ``run`` table stays the source of truth: a run is still inserted
as ``queued`` in its caller's transaction, and each executor defers a job for every queued run
that has none yet — at once after a local commit, and by polling for runs queued elsewhere (the
CLI, another node) or whose deferral was lost. A job claims its run exactly like the local
executor does, so a run deferred twice still executes once. Runs of one instance carry
Procrastinate's ``lock``: two syncs of one shop never overlap, whichever workers take them
(a workflow with ``instance_lock=False``, a long-lived watcher, takes none and blocks nobody).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.schema import SchemaManager
from sqlalchemy import String, and_, cast, column, exists, func, select, table, text
from sqlalchemy.engine import make_url

from jobwerk.core.executors._base import PollingExecutor, recover_interrupted
from jobwerk.core.runner import RunEnvironment, RunExecution
from jobwerk.core.states import RunStatus
from jobwerk.storage.models import Run

log = structlog.get_logger("jobwerk.executor")

TASK = "jobwerk.execute_run"
# Procrastinate's job table, as far as the search for runs without a job needs it.
JOBS = table("procrastinate_jobs", column("queueing_lock"), column("status"))
SCHEMA_LOCK = 0x6A6F6277  # advisory lock: one process installs Procrastinate's tables


class ProcrastinateExecutor(PollingExecutor):
    """Defers queued runs into Procrastinate's queue and works that queue in this process."""

    def __init__(self, env: RunEnvironment, **options: Any) -> None:
        super().__init__(env, **options)
        conninfo = make_url(env.db.url).set(drivername="postgresql")
        self.app = App(
            connector=PsycopgConnector(
                conninfo=conninfo.render_as_string(hide_password=False),
                min_size=1,
                max_size=self.concurrency + 2,
            )
        )
        self.task = self.app.task(name=TASK)(self._execute)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await install_schema(self.env)
        await recover_interrupted(self.env, self.stale_after_seconds)
        await self.app.open_async()
        worker = self.app.run_worker_async(
            concurrency=self.concurrency,
            name=self.env.worker,
            # NOTIFY wakes workers for new jobs, not for jobs a finished run's lock let go
            fetch_job_polling_interval=self.poll_seconds,
            install_signal_handlers=False,
            shutdown_graceful_timeout=0,  # runs still executing end as interrupted
            delete_jobs="successful",  # the run table keeps the history
        )
        self._tasks = [
            asyncio.create_task(worker, name="jobwerk-procrastinate-worker"),
            asyncio.create_task(self._poll_loop(), name="jobwerk-executor"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.app.close_async()

    async def _execute(self, run_id: str) -> None:
        execution = RunExecution(self.env, run_id)
        self._executions[run_id] = execution
        try:
            await execution.execute()
        finally:
            del self._executions[run_id]

    async def _recover(self) -> None:
        await super()._recover()
        await self._release_stalled()

    async def _take_queued(self) -> None:
        """Defer a job for every queued run that has no waiting or running job."""
        has_job = exists().where(
            and_(
                JOBS.c.queueing_lock == func.concat("run:", Run.id),
                cast(JOBS.c.status, String).in_(["todo", "doing"]),
            )
        )
        async with self.env.db.session() as session:
            rows = (
                await session.execute(
                    select(Run.id, Run.instance_id, Run.workflow)
                    .where(Run.status == RunStatus.QUEUED, ~has_job)
                    .order_by(Run.created_at)
                    .limit(self.concurrency * 4)
                )
            ).all()
        for run_id, instance_id, workflow in rows:
            lock = f"instance:{instance_id}" if instance_id and self._locks(workflow) else None
            with contextlib.suppress(AlreadyEnqueued):  # another process deferred it just now
                await self.task.configure(queueing_lock=f"run:{run_id}", lock=lock).defer_async(
                    run_id=run_id
                )

    def _locks(self, workflow: str) -> bool:
        """Whether runs of ``workflow`` take their instance's lock (an unknown one does)."""
        return workflow not in self.env.workflows or self.env.workflows.get(workflow).instance_lock

    async def _release_stalled(self) -> None:
        """Jobs of a worker that died stay ``doing`` and would hold their instance's lock
        forever: retry them, and the retry finds its run taken (it becomes ``interrupted``)."""
        for job in await self.app.job_manager.get_stalled_jobs(task_name=TASK):
            log.warning("releasing the job of a stopped worker", job_id=job.id)
            await self.app.job_manager.retry_job(job)


async def install_schema(env: RunEnvironment) -> None:
    """Create Procrastinate's tables and functions once per database (under a lock, so two
    processes starting together don't both try)."""
    async with env.db.write() as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        if await session.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is None:
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute(SchemaManager.get_schema())  # several statements: no parameters
