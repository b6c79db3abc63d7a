"""Shapes engine rows into API schemas, and assembles the job status views of seed 000."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.api.schemas.common import Pagination
from jobwerk.api.schemas.jobs import JobRead, JobState, JobStatusRead
from jobwerk.api.schemas.runs import (
    LogRead,
    ProgressRead,
    RunDetailRead,
    RunList,
    RunRead,
    StepRead,
)
from jobwerk.core import job_service, run_service
from jobwerk.core.workflow import WorkflowRegistry
from jobwerk.storage.models import Job, LogEntry, Run

JOB_STATES: dict[str, JobState] = {
    "queued": "queued",
    "running": "running",
    "completed": "success",
    "completed_with_warnings": "warning",
    "failed": "failed",
    "cancelled": "cancelled",
}


def job_status(job: Job, last: Run | None, last_success: datetime | None) -> JobStatusRead:
    return JobStatusRead(
        status=JOB_STATES.get(last.status, "idle") if last else "idle",
        last_run=(last.started_at or last.created_at) if last else None,
        next_run=job_service.next_run_of(job),
        last_error=last.error if last else None,
        last_duration=last.duration_seconds if last else None,
        last_run_id=last.id if last else None,
        progress=last.progress if last else None,
        last_success=last_success,
    )


def job_read(job: Job, last: Run | None, last_success: datetime | None = None) -> JobRead:
    return JobRead(
        job_id=job.id,
        workflow=job.workflow,
        title=job.title,
        instance_id=job.instance_id,
        enabled=job.enabled,
        params=job.params,
        interval_minutes=job.interval_minutes,
        cron=job.cron,
        timezone=job.timezone,
        status=job_status(job, last, last_success),
    )


async def _with_status(session: AsyncSession, jobs: Sequence[Job]) -> list[JobRead]:
    ids = [job.id for job in jobs]
    latest = await job_service.last_runs(session, ids)
    successes = await job_service.last_successes(session, ids)
    return [job_read(job, latest.get(job.id), successes.get(job.id)) for job in jobs]


async def jobs_with_status(session: AsyncSession) -> list[JobRead]:
    """Every job with the status of its latest run."""
    return await _with_status(session, await job_service.list_jobs(session))


async def job_with_status(session: AsyncSession, job_id: str) -> JobRead:
    """One job with its status. Raises NotFound."""
    [read] = await _with_status(session, [await job_service.get_job(session, job_id)])
    return read


def jobs_update_entry(job: JobRead) -> dict[str, Any]:
    """One entry of seed 000's ``jobs_update`` WebSocket message."""
    return {
        "job_id": job.job_id,
        "status": job.status.status,
        "enabled": job.enabled,
        "last_run": job.status.last_run.isoformat() if job.status.last_run else None,
        "next_run": job.status.next_run.isoformat() if job.status.next_run else None,
        "last_error": job.status.last_error,
        "last_duration": job.status.last_duration,
        "last_run_id": job.status.last_run_id,
        "progress": job.status.progress,
        "last_success": job.status.last_success.isoformat() if job.status.last_success else None,
    }


def _api_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``RunRead``'s fields from the values of ``run_service.RUN_LIST_NAMES``."""
    fields["retry_of"] = fields.pop("retry_of_run_id")
    started, finished = fields["started_at"], fields["finished_at"]
    fields["duration_seconds"] = (
        (finished - started).total_seconds() if started and finished else None
    )
    return fields


def _run_fields(run: Run) -> dict[str, Any]:
    return _api_fields({name: getattr(run, name) for name in run_service.RUN_LIST_NAMES})


def run_read(run: Run) -> RunRead:
    return RunRead(**_run_fields(run))


def run_list(rows: Sequence[Row[Any]], pagination: Pagination) -> RunList:
    """A page of ``run_service.RUN_LIST_COLUMNS`` rows, validated in one call rather than per run.

    Rows are read by position (a ``Row``'s attribute lookup costs several times more); the
    page's trailing ``total`` column is left out.
    """
    jobs = [_api_fields(dict(zip(run_service.RUN_LIST_NAMES, row, strict=False))) for row in rows]
    return RunList.model_validate({"jobs": jobs, "pagination": pagination})


def run_detail(run: Run, workflows: WorkflowRegistry) -> RunDetailRead:
    """A run with steps, parameters, result and a progress summary (``steps`` loaded)."""
    steps_total = len(workflows.get(run.workflow).steps) if run.workflow in workflows else 0
    steps = [
        StepRead(
            name=step.name,
            position=step.position,
            status=step.status,
            attempt=step.attempt,
            progress=step.progress,
            done=step.done,
            total=step.total,
            counters=step.counters,
            message=step.message,
            error=step.error,
            started_at=step.started_at,
            finished_at=step.finished_at,
        )
        for step in run.steps
    ]
    finished = sum(1 for step in steps if step.status in ("completed", "skipped"))
    return RunDetailRead(
        **_run_fields(run),
        params=run.params,
        result=run.result,
        request_id=run.request_id,
        progress_detail=ProgressRead(
            percent_complete=run.progress,
            current_step=run.current_step,
            steps_done=finished,
            steps_total=max(steps_total, len(steps)),
        ),
        steps=steps,
    )


def log_read(entry: LogEntry) -> LogRead:
    return LogRead(
        id=entry.id,
        run_id=entry.run_id,
        step=entry.step,
        level=entry.level,
        message=entry.message,
        data=entry.data,
        created_at=entry.created_at,
    )
