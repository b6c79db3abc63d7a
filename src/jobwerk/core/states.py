"""Run and step states, and the one function that moves a run between them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.errors import Conflict
from jobwerk.storage.models import Run, utcnow


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_WARNINGS = "completed_with_warnings"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


SUCCEEDED = frozenset({RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_WARNINGS})
FINISHED = SUCCEEDED | {RunStatus.FAILED, RunStatus.CANCELLED}
ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})

# The allowed transitions: target state -> the states a run may come from.
ALLOWED: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset(),
    RunStatus.RUNNING: frozenset({RunStatus.QUEUED}),
    RunStatus.COMPLETED: frozenset({RunStatus.RUNNING}),
    RunStatus.COMPLETED_WITH_WARNINGS: frozenset({RunStatus.RUNNING}),
    RunStatus.FAILED: frozenset({RunStatus.QUEUED, RunStatus.RUNNING}),
    RunStatus.CANCELLED: frozenset({RunStatus.QUEUED, RunStatus.RUNNING}),
}


class InvalidTransition(Conflict):
    """The run is not in a state the requested transition may start from."""


async def transition_run(
    session: AsyncSession,
    run_id: str,
    target: RunStatus,
    *,
    sources: frozenset[RunStatus] | None = None,
    **fields: Any,
) -> bool:
    """Move a run to ``target`` if its current state allows it (compare-and-set).

    Args:
        session: the transaction to write in.
        run_id: the run to move.
        target: the new state.
        sources: a narrower set of states to accept than the table allows.
        fields: other columns to set in the same statement.

    Returns:
        True when this call moved the run; False when the run was not in an allowed state
        (another process moved it first, or it does not exist).
    """
    allowed = ALLOWED[target] if sources is None else sources & ALLOWED[target]
    values: dict[str, Any] = {"status": target.value, **fields}
    if target is RunStatus.RUNNING:
        values.setdefault("started_at", utcnow())
    if target.finished:
        values.setdefault("finished_at", utcnow())
    statement = (
        update(Run)
        .where(Run.id == run_id, Run.status.in_([state.value for state in allowed]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
