"""``/api/jobs``: configured jobs with live status, run-now, schedule and toggle (seeds 000-002)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from jobwerk.api import _views
from jobwerk.api.schemas.jobs import JobRead, ScheduleUpdate, TriggerRead
from jobwerk.core import job_service
from jobwerk.errors import InvalidInput
from jobwerk.sdk.deps import AdminDep, OperatorDep, RuntimeDep, SessionDep, ViewerDep, request_id
from jobwerk.sdk.schemas import AUTH, responses

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=AUTH)
RESERVED_QUERY = frozenset({"api_key"})
# run-now reads any query parameter as a workflow parameter: one free-form object in OpenAPI.
QUERY_PARAMS = {
    "name": "params",
    "in": "query",
    "style": "form",
    "explode": True,
    "required": False,
    "schema": {"type": "object", "additionalProperties": {"type": "string"}},
    "description": "Workflow parameters as query parameters, e.g. `?items=10`",
}


@router.get("", summary="List jobs with their status")
async def list_jobs(session: SessionDep, _: ViewerDep) -> list[JobRead]:
    return await _views.jobs_with_status(session)


@router.get("/{job_id}", summary="One job with its status", responses=responses(404))
async def get_job(job_id: str, session: SessionDep, _: ViewerDep) -> JobRead:
    return await _views.job_with_status(session, job_id)


def _relocate(exc: InvalidInput, body: dict[str, Any]) -> InvalidInput:
    """Point parameter errors at where the value came from (``body`` or ``query``)."""
    errors = []
    for error in exc.errors:
        loc = list(error["loc"])
        if loc and loc[0] == "params":
            field = loc[1] if len(loc) > 1 else None
            loc[0] = "query" if field is not None and field not in body else "body"
        errors.append({**error, "loc": loc})
    return InvalidInput(exc.message, errors)


@router.post(
    "/{job_id}/run-now",
    summary="Run a job now",
    description=(
        "Starts the job with its default parameters overlaid by the query parameters and the "
        "JSON body (body wins). Parameters are validated by the workflow's parameter model, "
        "whose JSON schema `GET /api/v1/workflows/{name}` gives."
    ),
    status_code=202,
    responses=responses(404, 409, 422, 423),
    openapi_extra={"parameters": [QUERY_PARAMS]},
)
async def run_now(
    job_id: str,
    request: Request,
    runtime: RuntimeDep,
    caller: OperatorDep,
    params: Annotated[
        dict[str, Any] | None, Body(description="Workflow parameters", examples=[{"items": 10}])
    ] = None,
) -> TriggerRead:
    query = {k: v for k, v in request.query_params.items() if k not in RESERVED_QUERY}
    body = params or {}
    try:
        async with runtime.transaction() as session:
            run = await job_service.trigger_job(
                session,
                runtime.workflows,
                job_id,
                {**query, **body},
                trigger="api",
                started_by=caller.actor,
                request_id=request_id(request),
            )
    except InvalidInput as exc:
        raise _relocate(exc, body) from None
    return TriggerRead(job_id=job_id, run_id=run.id, params=run.params)


@router.post(
    "/{job_id}/schedule",
    summary="Change a job's schedule",
    responses=responses(404, 422),
)
async def set_schedule(
    job_id: str, body: ScheduleUpdate, runtime: RuntimeDep, _: AdminDep
) -> JobRead:
    async with runtime.transaction() as session:
        await job_service.set_schedule(
            session,
            job_id,
            interval_minutes=body.interval_minutes,
            cron=body.cron,
            timezone=body.timezone,
        )
    async with runtime.db.session() as session:
        return await _views.job_with_status(session, job_id)


@router.post(
    "/{job_id}/toggle",
    summary="Enable or disable a job",
    description="Without `enabled` the job's state flips; a disabled job neither fires nor runs.",
    responses=responses(404),
)
async def toggle(
    job_id: str,
    runtime: RuntimeDep,
    _: OperatorDep,
    enabled: Annotated[bool | None, Query(description="Set instead of flipping")] = None,
) -> JobRead:
    async with runtime.transaction() as session:
        await job_service.set_enabled(session, job_id, enabled)
    async with runtime.db.session() as session:
        return await _views.job_with_status(session, job_id)
