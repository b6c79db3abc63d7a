"""The executor interface, and what both implementations share: runs executing in this
process, a loop that looks for queued runs, and recovery of runs whose process died."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from abc import ABC, abstractmethod
from datetime import timedelta

import psutil
import structlog
from sqlalchemy import or_, select

from jobwerk.core import events
from jobwerk.core.runner import RunEnvironment, RunExecution
from jobwerk.core.states import RunStatus, transition_run
from jobwerk.storage.models import Run, utcnow

log = structlog.get_logger("jobwerk.executor")


def worker_name() -> str:
    """``host:pid`` of this process, stored on the runs it executes."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Executor(ABC):
    """Takes runs that are ``queued`` in the database and executes them.

    A run is always inserted as ``queued`` in the caller's transaction first; ``submit`` is a
    hint after the commit that lets an executor start it without waiting for its next poll.
    Workflows never see the executor, so the local one and the Procrastinate queue are
    interchangeable without changing any workflow.
    """

    @abstractmethod
    async def start(self) -> None:
        """Recover interrupted runs and begin taking queued ones."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop taking runs; runs still executing end as ``failed`` / ``interrupted``."""

    @abstractmethod
    def submit(self, run_id: str) -> None:
        """A run was committed as ``queued``; start it soon."""

    @abstractmethod
    def cancel(self, run_id: str) -> None:
        """Signal a run executing here to stop (its cancel flag is already stored)."""

    @property
    @abstractmethod
    def active_count(self) -> int:
        """Runs executing in this process now."""


class PollingExecutor(Executor):
    """An executor whose loop wakes on ``submit`` or every ``poll_seconds`` to take queued
    runs, and now and then marks the runs of dead processes as interrupted."""

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
        self._wake = asyncio.Event()

    def submit(self, run_id: str) -> None:
        self._wake.set()

    def cancel(self, run_id: str) -> None:
        execution = self._executions.get(run_id)
        if execution is not None:
            execution.request_cancel()

    @property
    def active_count(self) -> int:
        return len(self._executions)

    @abstractmethod
    async def _take_queued(self) -> None:
        """Take the queued runs this executor should start now."""

    async def _recover(self) -> None:
        await recover_interrupted(self.env, self.stale_after_seconds)

    async def _poll_loop(self) -> None:
        since_recovery = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()
            try:
                await self._take_queued()
                since_recovery += self.poll_seconds
                if since_recovery >= self.stale_after_seconds / 2:
                    since_recovery = 0.0
                    await self._recover()
            except Exception:
                log.exception("executor poll failed; retrying")


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
