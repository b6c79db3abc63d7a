"""The local executor: runs on asyncio in the server process with bounded concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import timedelta

import psutil
import structlog
from sqlalchemy import or_, select

from jobwerk.core import events
from jobwerk.core.executors._base import Executor
from jobwerk.core.runner import RunEnvironment, RunExecution
from jobwerk.core.states import RunStatus, transition_run
from jobwerk.storage.models import Run, utcnow

log = structlog.get_logger("jobwerk.executor")


def worker_name() -> str:
    """``host:pid`` of this process, stored on the runs it executes."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LocalExecutor(Executor):
    """Executes queued runs as asyncio tasks, at most ``concurrency`` at once.

    It starts a run as soon as it is submitted and also polls the database for queued runs
    enqueued by other processes (the CLI, another API node).
    """

    def __init__(
        self,
        env: RunEnvironment,
        *,
        concurrency: int = 8,
        poll_seconds: float = 1.0,
        stale_after_seconds: float = 60.0,
    ) -> None:
        self.env = env
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.stale_after_seconds = stale_after_seconds
        self._executions: dict[str, RunExecution] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: dict[str, None] = {}  # run ids in arrival order, without repeats
        self._wake = asyncio.Event()
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
        self._wake.set()

    def cancel(self, run_id: str) -> None:
        execution = self._executions.get(run_id)
        if execution is not None:
            execution.request_cancel()

    @property
    def active_count(self) -> int:
        return len(self._executions)

    async def _poll_loop(self) -> None:
        since_sweep = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()
            try:
                waiting, self._waiting = list(self._waiting), {}
                self._dispatch(waiting)
                if self.active_count < self.concurrency:
                    self._dispatch(await self._queued_run_ids())
                since_sweep += self.poll_seconds
                if since_sweep >= self.stale_after_seconds / 2:
                    since_sweep = 0.0
                    await recover_interrupted(self.env, self.stale_after_seconds)
            except Exception:
                log.exception("executor poll failed; retrying")

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


async def recover_interrupted(env: RunEnvironment, stale_after_seconds: float) -> list[str]:
    """Mark runs whose worker died as ``failed`` with reason ``interrupted``.

    A run is dead when its heartbeat is older than ``stale_after_seconds``, or when its worker
    ran on this host and that process no longer exists (a restart finds it at once).
    """
    host = socket.gethostname()
    stale_before = utcnow() - timedelta(seconds=stale_after_seconds)
    async with env.db.session() as session:
        running = (
            await session.execute(
                select(Run.id, Run.worker, Run.heartbeat_at, Run.job_id).where(
                    Run.status == RunStatus.RUNNING,
                    or_(
                        Run.heartbeat_at.is_(None),
                        Run.worker.like(f"{host}:%"),
                        Run.heartbeat_at < stale_before,
                    ),
                )
            )
        ).all()
        interrupted: list[tuple[str, str | None]] = []
        for run_id, worker, heartbeat_at, job_id in running:
            if worker == env.worker:
                continue
            stale = heartbeat_at is None or heartbeat_at < stale_before
            if not stale and not _dead_local_worker(worker, host):
                continue
            moved = await transition_run(
                session,
                run_id,
                RunStatus.FAILED,
                sources=frozenset({RunStatus.RUNNING}),
                reason="interrupted",
                error="the worker executing this run stopped",
            )
            if moved:
                interrupted.append((run_id, job_id))
                log.warning("run interrupted", run_id=run_id, worker=worker)
    for run_id, job_id in interrupted:
        env.bus.publish(events.run_status(run_id, job_id, status="failed", reason="interrupted"))
    return [run_id for run_id, _ in interrupted]


def _dead_local_worker(worker: str | None, host: str) -> bool:
    if not worker or not worker.startswith(f"{host}:"):
        return False
    pid = worker.rsplit(":", 1)[1]
    return not pid.isdigit() or not psutil.pid_exists(int(pid))
