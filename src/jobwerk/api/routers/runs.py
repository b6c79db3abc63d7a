"""``/api/v1/jobs``: runs of any workflow, their steps and logs (seed 003's "jobs")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BeforeValidator

from jobwerk.api import _views
from jobwerk.api._cache import RunPages
from jobwerk.api.schemas.common import page
from jobwerk.api.schemas.runs import LogList, RunDeleted, RunDetailRead, RunList, RunRead
from jobwerk.core import exports, run_service
from jobwerk.core.states import RunStatus
from jobwerk.errors import InvalidInput
from jobwerk.sdk.deps import (
    OperatorDep,
    RuntimeDep,
    SessionDep,
    ViewerDep,
    request_id,
)
from jobwerk.sdk.schemas import AUTH, responses

router = APIRouter(prefix="/api/v1/jobs", tags=["runs"], responses=AUTH)
MAX_OFFSET = 10_000_000


def _iso_only(value: object) -> object:
    if isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit():
        raise ValueError("use an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]
LogLevel = Annotated[
    str | None, Query(pattern="^(debug|info|warning|error)$", description="Minimum level")
]


def _utc(moment: datetime | None) -> datetime | None:
    """``since`` in UTC (naive means UTC). Raises InvalidInput when it is out of range."""
    if moment is None:
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, ValueError):
        message = "since is out of range"
        raise InvalidInput(
            message, [{"loc": ["query", "since"], "msg": message, "type": "value_error"}]
        ) from None


@router.get(
    "",
    summary="List runs",
    description="Newest first, filtered and paginated. Pages are served from memory until a "
    "run changes in this server; changes made elsewhere show within twice "
    "`JOBWERK_API__LIST_CACHE_SECONDS`. Send `Cache-Control: no-cache` to read the database.",
    response_model=RunList,
)
async def list_runs(
    request: Request,
    runtime: RuntimeDep,
    _: ViewerDep,
    status: Annotated[list[RunStatus] | None, Query(description="One or more states")] = None,
    workflow: Annotated[str | None, Query(max_length=128, examples=["demo.example"])] = None,
    instance: Annotated[str | None, Query(max_length=32, description="Instance id")] = None,
    job: Annotated[str | None, Query(max_length=128, description="Configured job id")] = None,
    since: Annotated[IsoDateTime | None, Query(description="Created at or after (UTC)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    query = run_service.RunFilter(
        status=tuple(state.value for state in status or ()),
        workflow=workflow,
        instance_id=instance,
        job_id=job,
        since=_utc(since),
        limit=limit,
        offset=offset,
    )

    async def load() -> bytes:
        async with runtime.db.read() as session:
            rows, total = await run_service.list_run_rows(session, query)
        listed = _views.run_list(rows, page(total, limit, offset, len(rows)))
        return listed.model_dump_json().encode()

    pages: RunPages = request.app.state.run_pages
    fresh = "no-cache" in request.headers.get("cache-control", "")
    body = await (load() if fresh else pages.get(query, load))
    return Response(body, media_type="application/json")


@router.get(
    "/{run_id}", summary="One run with steps, progress and result", responses=responses(404)
)
async def get_run(
    run_id: str, session: SessionDep, runtime: RuntimeDep, _: ViewerDep
) -> RunDetailRead:
    run = await run_service.get_run(session, run_id, with_steps=True)
    return _views.run_detail(run, runtime.workflows)


@router.delete(
    "/{run_id}",
    summary="Cancel an active run or delete a finished one",
    responses=responses(404, 409),
)
async def delete_run(run_id: str, runtime: RuntimeDep, _: OperatorDep) -> RunDeleted:
    run_id, action, status = await exports.cancel_or_delete_run(runtime, run_id)
    return RunDeleted(id=run_id, action=action, status=status)


@router.post(
    "/{run_id}/retry",
    summary="Retry a failed or cancelled run",
    description="Starts a new run linked to this one; completed steps are skipped.",
    status_code=202,
    responses=responses(404, 409, 422),
)
async def retry_run(
    run_id: str, request: Request, runtime: RuntimeDep, caller: OperatorDep
) -> RunRead:
    async with runtime.transaction() as session:
        run = await run_service.retry_run(
            session,
            runtime.workflows,
            run_id,
            started_by=caller.actor,
            request_id=request_id(request),
        )
    return _views.run_read(run)


@router.get("/{run_id}/logs", summary="A run's log lines", responses=responses(404))
async def list_logs(
    run_id: str,
    session: SessionDep,
    _: ViewerDep,
    level: LogLevel = None,
    step: Annotated[str | None, Query(max_length=64)] = None,
    text: Annotated[
        str | None, Query(max_length=200, description="Substring of the message")
    ] = None,
    after_id: Annotated[int, Query(ge=0, le=2**62, description="Only lines after this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> LogList:
    rows, total = await run_service.list_logs(
        session,
        run_id,
        level=level,
        step=step,
        text=text,
        after_id=after_id,
        limit=limit,
        offset=offset,
    )
    return LogList(
        logs=[_views.log_read(entry) for entry in rows],
        pagination=page(total, limit, offset, len(rows)),
    )
