"""Job services: create, schedule, enable and trigger jobs; their latest runs for status views.

Like the run services, they flush and never commit (see :mod:`jobwerk.core.run_service`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core import events
from jobwerk.core.run_service import after_commit, enqueue_run
from jobwerk.core.scheduler import job_trigger, make_trigger, next_fire_after
from jobwerk.core.states import SUCCEEDED
from jobwerk.core.workflow import WorkflowRegistry
from jobwerk.errors import Conflict, InvalidInput, Locked, NotFound
from jobwerk.storage.models import Job, Run, utcnow

JOB_ID = re.compile(r"^[a-z0-9][a-z0-9_.:@-]{0,127}$")


async def get_job(session: AsyncSession, job_id: str) -> Job:
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job '{job_id}' not found")
    return job


async def trigger_job(
    session: AsyncSession,
    workflows: WorkflowRegistry,
    job_id: str,
    params: Mapping[str, Any] | None = None,
    *,
    trigger: str = "manual",
    started_by: str | None = None,
    request_id: str | None = None,
) -> Run:
    """Start a job now with its default parameters overlaid by ``params``.

    Raises:
        NotFound: unknown job. Locked: the job is disabled. InvalidInput: bad parameters.
        Conflict: a run of this job is already queued or running.
    """
    job = await get_job(session, job_id)
    if not job.enabled:
        raise Locked(f"Job '{job_id}' is disabled; enable it to run it")
    merged = {**job.params, **(params or {})}
    return await enqueue_run(
        session,
        workflows,
        job.workflow,
        merged,
        job=job,
        trigger=trigger,
        started_by=started_by,
        request_id=request_id,
    )


async def list_jobs(session: AsyncSession, instance_id: str | None = None) -> list[Job]:
    statement = select(Job).order_by(Job.id)
    if instance_id:
        statement = statement.where(Job.instance_id == instance_id)
    return list(await session.scalars(statement))


async def last_runs(session: AsyncSession, job_ids: Sequence[str]) -> dict[str, Run]:
    """The latest run of each job (for job status views)."""
    if not job_ids:
        return {}
    latest = (
        select(Run.job_id, func.max(Run.created_at).label("created_at"))
        .where(Run.job_id.in_(list(job_ids)))
        .group_by(Run.job_id)
        .subquery()
    )
    rows = await session.scalars(
        select(Run).join(
            latest, (Run.job_id == latest.c.job_id) & (Run.created_at == latest.c.created_at)
        )
    )
    return {run.job_id: run for run in rows if run.job_id}


async def last_successes(session: AsyncSession, job_ids: Sequence[str]) -> dict[str, datetime]:
    """When each job's latest successful run (with or without warnings) finished."""
    if not job_ids:
        return {}
    rows = await session.execute(
        select(Run.job_id, func.max(Run.finished_at))
        .where(Run.job_id.in_(list(job_ids)), Run.status.in_(list(SUCCEEDED)))
        .group_by(Run.job_id)
    )
    return {job_id: finished for job_id, finished in rows if job_id and finished}


async def save_job(
    session: AsyncSession,
    workflows: WorkflowRegistry,
    job_id: str,
    workflow: str,
    *,
    instance_id: str | None = None,
    params: Mapping[str, Any] | None = None,
    title: str = "",
    interval_minutes: float | None = None,
    cron: str | None = None,
    timezone: str = "UTC",
    enabled: bool = True,
    replace: bool = False,
) -> Job:
    """Create a job (or, with ``replace``, overwrite it); its params are validated.

    Raises:
        InvalidInput: bad id, parameters or schedule. Conflict: the id exists.
    """
    if not JOB_ID.match(job_id):
        raise InvalidInput(
            "job id must be lower case letters, digits and _.:@-",
            [{"loc": ["body", "job_id"], "msg": "invalid id", "type": "pattern"}],
        )
    validated = workflows.get(workflow).validate_params(params)
    job = await session.get(Job, job_id)
    if job is not None and not replace:
        raise Conflict(f"Job '{job_id}' already exists")
    if job is None:
        job = Job(id=job_id, created_at=utcnow())
        session.add(job)
    job.workflow, job.instance_id, job.title = workflow, instance_id, title
    job.params = validated.model_dump(mode="json", exclude_unset=True)
    job.enabled = enabled
    _apply_schedule(job, interval_minutes, cron, timezone)
    await session.flush()
    after_commit(session, event=events.job_changed(job.id, action="saved"))
    return job


def _apply_schedule(
    job: Job, interval_minutes: float | None, cron: str | None, timezone: str
) -> None:
    job.timezone = timezone
    if interval_minutes is None and cron is None:
        job.interval_minutes = job.cron = job.next_run_at = None
        return
    now = utcnow()
    trigger = make_trigger(
        interval_minutes=interval_minutes, cron=cron, timezone=timezone, start=now
    )
    job.interval_minutes, job.cron, job.created_at = interval_minutes, cron, job.created_at or now
    if interval_minutes is not None:
        job.created_at = now  # an interval counts from when it was set
    job.next_run_at = next_fire_after(trigger, now) if job.enabled else None


async def set_schedule(
    session: AsyncSession,
    job_id: str,
    *,
    interval_minutes: float | None = None,
    cron: str | None = None,
    timezone: str = "UTC",
) -> Job:
    """Change a job's schedule; it applies from now on. Raises NotFound / InvalidInput."""
    job = await get_job(session, job_id)
    _apply_schedule(job, interval_minutes, cron, timezone)
    await session.flush()
    after_commit(session, event=events.job_changed(job.id, action="scheduled"))
    return job


async def set_enabled(session: AsyncSession, job_id: str, enabled: bool | None = None) -> Job:
    """Enable or disable a job (``None`` toggles); a disabled job neither fires nor runs."""
    job = await get_job(session, job_id)
    job.enabled = (not job.enabled) if enabled is None else enabled
    trigger = job_trigger(job)
    job.next_run_at = next_fire_after(trigger, utcnow()) if trigger and job.enabled else None
    await session.flush()
    after_commit(session, event=events.job_changed(job.id, action="toggled", enabled=job.enabled))
    return job


def next_run_of(job: Job) -> datetime | None:
    return job.next_run_at if job.enabled else None
