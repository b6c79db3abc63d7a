"""The run state machine: every (from, to) pair moves exactly as the transition table says."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jobwerk.config import Settings
from jobwerk.core.states import ALLOWED, FINISHED, SUCCEEDED, RunStatus, transition_run
from jobwerk.storage.db import Database
from jobwerk.storage.models import Run


@pytest.mark.parametrize("source", list(RunStatus))
async def test_every_pair_moves_exactly_as_the_table_says(
    db_settings: Settings, source: RunStatus
) -> None:
    db = Database(db_settings.database_url)
    await db.upgrade()
    try:
        for target in RunStatus:
            async with db.write() as session:
                run = Run(workflow="test.noop", status=source.value)
                session.add(run)
                await session.flush()
                moved = await transition_run(session, run.id, target)
            async with db.session() as session:
                stored = await session.scalar(select(Run.status).where(Run.id == run.id))
            assert moved == (source in ALLOWED[target]), (source, target)
            assert stored == (target if moved else source).value
    finally:
        await db.dispose()


def test_finished_and_succeeded_states() -> None:
    assert {RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_WARNINGS} == SUCCEEDED
    assert SUCCEEDED | {RunStatus.FAILED, RunStatus.CANCELLED} == FINISHED
    assert all(state.finished for state in FINISHED)
    assert not any(state.finished for state in set(RunStatus) - FINISHED)
    # A finished run never moves again.
    assert not any(state in sources for state in FINISHED for sources in ALLOWED.values())
