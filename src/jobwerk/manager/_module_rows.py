"""What a module leaves in the database: its instances, its jobs and its active runs."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from jobwerk.core.runtime import Runtime
from jobwerk.storage.models import Instance, Job, Run


async def count_instances(runtime: Runtime, module_name: str) -> int:
    async with runtime.db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Instance).where(Instance.module == module_name)
        )
    return int(count or 0)


async def active_runs(runtime: Runtime, module_name: str) -> int:
    """Queued or running runs of the module's workflows."""
    async with runtime.db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Run)
            .where(
                Run.workflow.startswith(f"{module_name}.", autoescape=True),
                Run.status.in_(("queued", "running")),
            )
        )
    return int(count or 0)


async def remove_module_rows(runtime: Runtime, module_name: str) -> None:
    """Delete a module's jobs and instances; runs keep their rows (their links become NULL)."""
    async with runtime.transaction() as session:
        await session.execute(
            delete(Job).where(Job.workflow.startswith(f"{module_name}.", autoescape=True))
        )
        await session.execute(delete(Instance).where(Instance.module == module_name))
