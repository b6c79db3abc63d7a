"""Run services: enqueue, find, cancel, retry, delete and list runs and their logs.

Services take the caller's session and flush, never commit. Runs they enqueue are listed in
``session.info["enqueued"]`` and events in ``session.info["events"]``; the runtime hands both to
the executor and the event bus once the transaction has committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from jobwerk.core import events
from jobwerk.core.states import ACTIVE, RunStatus, transition_run
from jobwerk.core.workflow import WorkflowRegistry
from jobwerk.errors import Conflict, InvalidInput, NotFound
from jobwerk.storage.models import Job, LogEntry, Run, new_id


def after_commit(
    session: AsyncSession, *, run_id: str | None = None, event: events.Event | None = None
) -> None:
    if run_id is not None:
        session.info.setdefault("enqueued", []).append(run_id)
    if event is not None:
        session.info.setdefault("events", []).append(event)


async def enqueue_run(
    session: AsyncSession,
    workflows: WorkflowRegistry,
    workflow: str,
    params: Mapping[str, Any] | None = None,
    *,
    job: Job | None = None,
    instance_id: str | None = None,
    trigger: str = "manual",
    started_by: str | None = None,
    retry_of: Run | None = None,
    request_id: str | None = None,
) -> Run:
    """Insert a queued run after validating its parameters.

    ``trigger`` says how the run was started (api, cli, schedule, retry…), ``started_by`` who
    started it (a user, an API key, the operating-system user of the CLI).

    Raises:
        NotFound: the workflow is not registered.
        InvalidInput: the parameters do not fit the workflow's model.
        Conflict: the job already has a queued or running run.
    """
    validated = workflows.get(workflow).validate_params(params)
    run = Run(
        workflow=workflow,
        job_id=job.id if job else None,
        instance_id=instance_id if instance_id is not None else (job.instance_id if job else None),
        trigger=trigger,
        started_by=started_by,
        params=validated.model_dump(mode="json"),
        retry_of_run_id=retry_of.id if retry_of else None,
        request_id=request_id,
    )
    try:
        async with session.begin_nested():
            session.add(run)
    except IntegrityError:
        raise Conflict(
            f"job '{job.id if job else workflow}' already has a queued or running run; "
            "wait for it to finish or cancel it"
        ) from None
    after_commit(
        session,
        run_id=run.id,
        event=events.run_status(run.id, run.job_id, status="queued", workflow=workflow),
    )
    return run


MIN_PREFIX = 4


async def get_run(session: AsyncSession, run_id: str, *, with_steps: bool = False) -> Run:
    """A run by its id or by a unique prefix of it (at least ``MIN_PREFIX`` characters).

    Raises:
        NotFound: no run has that id or prefix. InvalidInput: the prefix fits several runs.
    """
    statement = select(Run)
    if with_steps:
        statement = statement.options(selectinload(Run.steps))
    run = await session.scalar(statement.where(Run.id == run_id))
    if run is None and MIN_PREFIX <= len(run_id) < len(new_id()):
        matches = (
            await session.scalars(
                select(Run.id).where(Run.id.startswith(run_id, autoescape=True)).limit(2)
            )
        ).all()
        if len(matches) > 1:
            raise InvalidInput(
                f"'{run_id}' is the start of more than one run id; give more characters",
                [{"loc": ["path", "run_id"], "msg": "ambiguous prefix", "type": "ambiguous"}],
            )
        if matches:
            run = await session.scalar(statement.where(Run.id == matches[0]))
    if run is None:
        raise NotFound(f"Run '{run_id}' not found")
    return run


async def cancel_run(session: AsyncSession, run_id: str) -> Run:
    """Cancel a queued run at once, or ask a running one to stop between units of work.

    Raises:
        NotFound: unknown run. Conflict: the run has already finished.
    """
    run = await get_run(session, run_id)
    run_id = run.id
    if run.status == RunStatus.QUEUED and await transition_run(
        session,
        run_id,
        RunStatus.CANCELLED,
        sources=frozenset({RunStatus.QUEUED}),
        reason="cancelled",
    ):
        after_commit(session, event=events.run_status(run_id, run.job_id, status="cancelled"))
    elif run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        run.cancel_requested = True
        after_commit(
            session,
            event=events.Event(
                "run.status", run_id, run.job_id, {"status": run.status, "cancel_requested": True}
            ),
        )
    else:
        raise Conflict(f"Run '{run_id}' has already finished ({run.status})")
    await session.flush()
    await session.refresh(run)
    return run


async def retry_run(
    session: AsyncSession,
    workflows: WorkflowRegistry,
    run_id: str,
    *,
    started_by: str | None = None,
    request_id: str | None = None,
) -> Run:
    """Start a new run linked to a failed or cancelled one; it skips completed steps.

    Raises:
        NotFound: unknown run. Conflict: the run did not fail or was not cancelled, or its
        job has another active run.
    """
    old = await get_run(session, run_id)
    if old.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
        raise Conflict(f"only failed or cancelled runs can be retried; this one is {old.status}")
    job = await session.get(Job, old.job_id) if old.job_id else None
    return await enqueue_run(
        session,
        workflows,
        old.workflow,
        old.params,
        job=job,
        instance_id=old.instance_id,
        trigger="retry",
        started_by=started_by,
        retry_of=old,
        request_id=request_id,
    )


async def delete_run(session: AsyncSession, run_id: str) -> None:
    """Delete a finished run with its steps and logs.

    Raises:
        NotFound: unknown run. Conflict: the run is still active (cancel it first).
    """
    run = await get_run(session, run_id)
    if run.status in ACTIVE:
        raise Conflict(f"Run '{run.id}' is {run.status}; cancel it first")
    await session.execute(delete(Run).where(Run.id == run.id))
    after_commit(session, event=events.run_deleted(run.id, run.job_id))


@dataclass(frozen=True)
class RunFilter:
    status: Sequence[str] = ()
    workflow: str | None = None
    instance_id: str | None = None
    job_id: str | None = None
    since: datetime | None = None
    limit: int = 50
    offset: int = 0


AnySelect = Select[*tuple[Any, ...]]
# Table columns rather than ORM attributes: a statement of them skips the ORM's compile and
# loading steps altogether.
_RUN = Run.__table__.c


def _filtered(statement: AnySelect, query: RunFilter) -> AnySelect:
    if query.status:
        statement = statement.where(_RUN.status.in_(list(query.status)))
    if query.workflow:
        statement = statement.where(_RUN.workflow == query.workflow)
    if query.instance_id:
        statement = statement.where(_RUN.instance_id == query.instance_id)
    if query.job_id:
        statement = statement.where(_RUN.job_id == query.job_id)
    if query.since:
        statement = statement.where(_RUN.created_at >= query.since)
    return statement


RUN_LIST_NAMES = (
    "id",
    "job_id",
    "workflow",
    "instance_id",
    "status",
    "trigger",
    "started_by",
    "progress",
    "current_step",
    "reason",
    "error",
    "retry_of_run_id",
    "cancel_requested",
    "created_at",
    "started_at",
    "finished_at",
)
RUN_LIST_COLUMNS = tuple(_RUN[name] for name in RUN_LIST_NAMES)


def _run_page(statement: AnySelect, query: RunFilter) -> AnySelect:
    """One page of runs with the filtered total in a column: one statement, one snapshot."""
    total = _filtered(select(func.count()).select_from(Run.__table__), query).scalar_subquery()
    return (
        _filtered(statement.add_columns(total.label("total")), query)
        .order_by(_RUN.created_at.desc(), _RUN.id)
        .limit(query.limit)
        .offset(query.offset)
    )


async def _runs_and_total(
    session: AsyncSession, statement: AnySelect, query: RunFilter
) -> tuple[Sequence[Row[*tuple[Any, ...]]], int]:
    rows = (await session.execute(_run_page(statement, query))).all()
    if rows:
        return rows, int(rows[0].total)
    if query.offset == 0:
        return rows, 0
    # A page past the end carries no total: count separately.
    total = await session.scalar(_filtered(select(func.count()).select_from(Run), query))
    return rows, int(total or 0)


async def list_runs(session: AsyncSession, query: RunFilter) -> tuple[list[Run], int]:
    """Runs newest first, and how many match in total."""
    rows, total = await _runs_and_total(session, select(Run), query)
    return [row[0] for row in rows], total


async def list_run_rows(session: AsyncSession, query: RunFilter) -> tuple[list[Row[Any]], int]:
    """Like ``list_runs``, but rows of ``RUN_LIST_COLUMNS`` instead of ORM objects.

    A run list needs neither the JSON columns nor identity-mapped objects; skipping both
    makes a page several times cheaper to load.
    """
    rows, total = await _runs_and_total(session, select(*RUN_LIST_COLUMNS), query)
    return list(rows), total


async def list_logs(
    session: AsyncSession,
    run_id: str,
    *,
    level: str | None = None,
    step: str | None = None,
    text: str | None = None,
    after_id: int = 0,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[LogEntry], int]:
    """A run's log lines in order, filtered by minimum level, step and text."""
    run_id = (await get_run(session, run_id)).id
    statement = select(LogEntry).where(LogEntry.run_id == run_id, LogEntry.id > after_id)
    if level:
        statement = statement.where(LogEntry.level.in_(levels_from(level)))
    if step:
        statement = statement.where(LogEntry.step == step)
    if text:
        statement = statement.where(LogEntry.message.contains(text, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.scalars(statement.order_by(LogEntry.id).limit(limit).offset(offset))
    return list(rows), int(total or 0)


LEVELS = ("debug", "info", "warning", "error")


def levels_from(level: str) -> list[str]:
    """The levels at or above ``level``."""
    if level not in LEVELS:
        raise InvalidInput(
            f"level must be one of {', '.join(LEVELS)}",
            [{"loc": ["query", "level"], "msg": "unknown level", "type": "enum"}],
        )
    return list(LEVELS[LEVELS.index(level) :])
