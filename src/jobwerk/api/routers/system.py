"""Health, readiness, statistics, Prometheus metrics, version and ping (seed 003)."""

from __future__ import annotations

import platform
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from jobwerk import __version__
from jobwerk.api import _system
from jobwerk.api.metrics import Metrics
from jobwerk.api.schemas.system import HealthRead, LivenessRead, PingRead, StatsRead, VersionRead
from jobwerk.sdk.deps import RuntimeDep, SessionDep, ViewerDep, authenticate
from jobwerk.sdk.schemas import AUTH

router = APIRouter(tags=["system"])
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/health", summary="Liveness", description="The process answers; no dependency checks.")
@router.get("/api/health", summary="Liveness (seed 000)")
@router.get("/livez", summary="Liveness probe")
async def liveness() -> LivenessRead:
    return LivenessRead(version=__version__)


@router.get(
    "/api/v1/system/health",
    summary="Readiness with dependency checks",
    description="503 when the database does not answer; failing module checks only degrade. "
    "Module checks show their details (TEMU token, JTL version) only to authenticated callers.",
    responses={503: {"model": HealthRead, "description": "Not ready"}},
)
@router.get(
    "/readyz",
    summary="Readiness probe",
    responses={503: {"model": HealthRead, "description": "Not ready"}},
)
async def readiness(request: Request, response: Response, runtime: RuntimeDep) -> HealthRead:
    try:
        principal = await authenticate(request)
    except HTTPException:  # public: invalid credentials only cost the details
        principal = None
    state = request.app.state
    health = await _system.check_health(
        runtime, state.modules, state.module_checks, detailed=principal is not None
    )
    if health.status == "unhealthy":
        response.status_code = 503
    return health


@router.get(
    "/api/v1/system/stats", summary="Run, performance and resource statistics", responses=AUTH
)
async def stats(request: Request, runtime: RuntimeDep, _: ViewerDep) -> StatsRead:
    metrics: Metrics = request.app.state.metrics
    return await _system.collect_stats(
        runtime, metrics.http_total, sum(metrics.ws_clients.values())
    )


@router.get(
    "/api/v1/system/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={**AUTH, 200: {"content": {PROMETHEUS: {}}, "description": "Exposition text"}},
)
async def metrics(request: Request, session: SessionDep, _: ViewerDep) -> Response:
    registry: Metrics = request.app.state.metrics
    counts = await _system.runs_by_status(session)
    return Response(registry.render(counts), media_type=PROMETHEUS)


@router.get("/api/v1/system/version", summary="Version information")
async def version() -> VersionRead:
    return VersionRead(version=__version__, python=platform.python_version())


@router.get("/api/v1/system/ping", summary="Connectivity test")
async def ping() -> PingRead:
    return PingRead(timestamp=datetime.now(UTC).isoformat())
