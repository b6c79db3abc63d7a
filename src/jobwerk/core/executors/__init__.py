"""Executors run queued runs: ``local`` on asyncio in the processes that poll the database,
``procrastinate`` through Procrastinate's queue in PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobwerk.config import EngineSettings
from jobwerk.core.executors._base import Executor
from jobwerk.core.executors._local import LocalExecutor
from jobwerk.core.runner import RunEnvironment

if TYPE_CHECKING:
    from jobwerk.core.executors._procrastinate import ProcrastinateExecutor


def executor_for(env: RunEnvironment, engine: EngineSettings) -> Executor:
    """The executor the settings choose (Procrastinate is imported only when chosen)."""
    kind: type[LocalExecutor] | type[ProcrastinateExecutor] = LocalExecutor
    if engine.executor == "procrastinate":
        from jobwerk.core.executors._procrastinate import ProcrastinateExecutor

        kind = ProcrastinateExecutor
    return kind(
        env,
        concurrency=engine.concurrency,
        poll_seconds=engine.poll_seconds,
        stale_after_seconds=engine.stale_after_seconds,
    )


__all__ = ["Executor", "LocalExecutor", "executor_for"]
