"""The local executor: runs on asyncio in the processes that poll the database."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from sqlalchemy import select

from jobwerk.core.executors._base import PollingExecutor, recover_interrupted
from jobwerk.core.runner import RunEnvironment, RunExecution
from jobwerk.core.states import RunStatus
from jobwerk.storage.models import Run

log = structlog.get_logger("jobwerk.executor")


class LocalExecutor(PollingExecutor):
    """Executes queued runs as asyncio tasks, at most ``concurrency`` at once.

    It starts a run as soon as it is submitted and also polls the database for queued runs
    enqueued by other processes (the CLI, another API node).
    """

    def __init__(self, env: RunEnvironment, **options: Any) -> None:
        super().__init__(env, **options)
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: dict[str, None] = {}  # run ids in arrival order, without repeats
        self._loop_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await recover_interrupted(self.env, self.stale_after_seconds)
        self._loop_task = asyncio.create_task(self._poll_loop(), name="jobwerk-executor")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit(self, run_id: str) -> None:
        self._waiting[run_id] = None
        super().submit(run_id)

    async def _take_queued(self) -> None:
        waiting, self._waiting = list(self._waiting), {}
        self._dispatch(waiting)
        if self.active_count < self.concurrency:
            self._dispatch(await self._queued_run_ids())

    async def _queued_run_ids(self) -> list[str]:
        async with self.env.db.session() as session:
            rows = await session.scalars(
                select(Run.id)
                .where(Run.status == RunStatus.QUEUED)
                .order_by(Run.created_at)
                .limit(self.concurrency * 2)
            )
            return list(rows)

    def _dispatch(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            if run_id in self._executions:
                continue
            if self.active_count >= self.concurrency:
                self._waiting[run_id] = None
                continue
            execution = RunExecution(self.env, run_id)
            self._executions[run_id] = execution
            task = asyncio.create_task(self._execute(execution), name=f"run-{run_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _execute(self, execution: RunExecution) -> None:
        try:
            await execution.execute()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("run execution crashed", run_id=execution.run_id)
        finally:
            del self._executions[execution.run_id]
            if self._waiting:
                self._wake.set()
