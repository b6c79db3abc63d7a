"""API actions that combine engine services: cancel-or-delete for ``DELETE /api/v1/jobs/{id}``
(a deleted run takes its exports with it)."""

from __future__ import annotations

import asyncio
import shutil

from jobwerk.core import service
from jobwerk.core.context import run_export_dir
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import ACTIVE


async def cancel_or_delete_run(runtime: Runtime, run_id: str) -> tuple[str, str | None]:
    """Cancel an active run, delete a finished one; returns the action and the run's status.

    Raises:
        NotFound: unknown run. Conflict: the run finished while it was being cancelled.
    """
    async with runtime.transaction() as session:
        run = await service.get_run(session, run_id)
        if run.status in ACTIVE:
            run = await service.cancel_run(session, run_id)
            action, status = "cancelled", run.status
        else:
            await service.delete_run(session, run_id)
            action, status = "deleted", None
    if action == "cancelled":
        runtime.executor.cancel(run_id)
    else:
        folder = run_export_dir(runtime.settings.data_dir, run_id)
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
    return action, status
