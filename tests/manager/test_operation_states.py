"""Module operations move between states only as their transition table says, like runs."""

from __future__ import annotations

import pytest

from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.manager.models import ModuleOperation
from jobwerk.manager.operations import (
    ALLOWED,
    FINISHED,
    InvalidTransition,
    OperationStatus,
    Tracker,
)


@pytest.mark.parametrize("source", list(OperationStatus))
async def test_every_pair_moves_exactly_as_the_table_says(
    settings: Settings, source: OperationStatus
) -> None:
    runtime = Runtime(settings)
    await runtime.db.upgrade()
    tracker = Tracker(runtime)
    try:
        for target in OperationStatus:
            async with runtime.transaction() as session:
                operation = ModuleOperation(
                    type="install", module=f"m-{source}-{target}", status=source.value
                )
                session.add(operation)
            if source in ALLOWED[target]:
                changed = await tracker.change(operation.id, status=target.value)
                assert changed["status"] == target
                assert (changed["completed_at"] is not None) == (target in FINISHED)
            else:
                with pytest.raises(InvalidTransition):
                    await tracker.change(operation.id, status=target.value)
    finally:
        await runtime.db.dispose()
