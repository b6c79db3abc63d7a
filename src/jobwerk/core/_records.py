"""Writing a run's buffered step states: new steps inserted, known ones updated, each in one
statement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core.context import StepState
from jobwerk.storage.models import StepRun


async def write_steps(
    session: AsyncSession, run_id: str, steps: Mapping[str, StepState], names: list[str]
) -> None:
    """Insert the rows of steps not stored yet; update the others by (run, name)."""
    new_rows, changed = [], []
    for name in names:
        state = steps[name]
        values: dict[str, Any] = {
            "status": state.status,
            "attempt": state.attempt,
            "progress": round(state.progress, 2),
            "done": state.done,
            "total": state.total,
            "counters": dict(state.counters),
            "message": state.message,
            "error": state.error,
            "output": state.output,
            "started_at": state.started_at,
            "finished_at": state.finished_at,
        }
        if state.stored:
            changed.append({"step_name": name, **values})
        else:
            new_rows.append({"run_id": run_id, "position": state.position, "name": name, **values})
    if new_rows:
        await session.execute(insert(StepRun), new_rows)
    if changed:
        table = cast(Table, StepRun.__table__)
        await session.execute(
            update(table).where(table.c.run_id == run_id, table.c.name == bindparam("step_name")),
            changed,
        )
