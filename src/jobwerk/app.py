"""The FastAPI application: lifespan (database, engine, modules), middleware, routers, dashboard."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from jobwerk import __version__
from jobwerk.api import JobsHub, RunPages, module_check_cache, ws
from jobwerk.api.apidocs import mount_api_docs
from jobwerk.api.metrics import Metrics
from jobwerk.api.middleware import (
    MUTATING,
    BodyLimitMiddleware,
    RateLimitMiddleware,
    RequestContextMiddleware,
    UnhandledErrorMiddleware,
)
from jobwerk.api.routers import auth, exports, jobs, runs, system, workflows
from jobwerk.api.schemas.system import OverviewRead
from jobwerk.config import Settings
from jobwerk.core.auth import Role
from jobwerk.core.login import HashGate, LoginThrottle
from jobwerk.core.runtime import Runtime
from jobwerk.errors import AppError, InvalidInput
from jobwerk.manager.router import include_manager
from jobwerk.modules.registry import ModuleRegistry
from jobwerk.sdk.deps import CSRF_HEADER, key_cache, require
from jobwerk.sdk.schemas import DESCRIPTIONS, MUTATION_CODES, ErrorRead, ServerErrorRead
from jobwerk.web import INDEX_HTML, dashboard_page, mount_dashboard, wants_html

log = structlog.get_logger("jobwerk.app")
OPENAPI_URL = "/api/openapi.json"


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the engine, modules, metrics and live updates start in its lifespan."""
    runtime = runtime or Runtime(settings)
    modules = ModuleRegistry()
    modules.discover(settings.modules)
    modules.attach(runtime)
    metrics = Metrics()
    hub = JobsHub(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        await app.state.manager.start()
        await modules.startup(runtime)
        metrics.start(runtime.bus)
        hub.start()
        # What start-up built lives as long as the process: keep it out of the collector's
        # full passes, which otherwise stall every request for tens of milliseconds.
        gc.freeze()
        log.info("jobwerk started", version=__version__, database=runtime.db.engine.url.drivername)
        try:
            yield
        finally:
            await hub.stop()
            await metrics.stop()
            await app.state.manager.stop()
            await modules.shutdown(runtime)
            await runtime.stop()

    app = FastAPI(
        title="jobwerk",
        version=__version__,
        description=(
            "Self-hosted job server for shop integrations. Authenticate with `X-API-Key`, "
            "`Authorization: Bearer <key>` or a dashboard session cookie (mutations then need "
            f"the `{CSRF_HEADER}` header)."
        ),
        lifespan=lifespan,
        openapi_url=OPENAPI_URL,
        docs_url=None,  # mount_api_docs serves them with packaged files instead of a CDN's
        redoc_url=None,
        responses={
            500: {"model": ServerErrorRead, "description": "Unexpected failure (a bug)"},
            503: {"model": ErrorRead, "description": DESCRIPTIONS[503]},
        },
    )
    app.state.runtime = runtime
    app.state.modules = modules
    app.state.metrics = metrics
    app.state.hub = hub
    app.state.key_cache = key_cache()
    app.state.run_pages = RunPages(runtime.bus, settings.api.list_cache_seconds)
    app.state.module_checks = module_check_cache()
    app.state.login_throttle = LoginThrottle()
    app.state.hash_gate = HashGate()
    _add_error_handlers(app)
    _add_middleware(app, settings, metrics)
    _add_pages(app)
    mount_api_docs(app, OPENAPI_URL)
    for router in (
        system.router,
        jobs.router,
        runs.router,
        workflows.router,
        auth.router,
        ws.router,
    ):
        app.include_router(router)
    include_manager(app, runtime, modules)  # before module routes: installed ones mount too
    mount_dashboard(app)
    for module in modules.loaded():
        for router in module.routers():
            # A module's routes need at least the viewer role; they may ask for more.
            app.include_router(router, dependencies=[require(Role.VIEWER)])
        for router in module.public_routers():
            app.include_router(router)  # each route checks its caller's signature itself
    # Last: its /{run_id}/{filename} would shadow module routes below /api/v1/exports.
    app.include_router(exports.router)
    _document_mutations(app)
    return app


def _document_mutations(app: FastAPI) -> None:
    """Every mutation may meet the middleware's answers; its OpenAPI operation says so."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorRead"}}}
        for item in schema["paths"].values():
            for method, operation in item.items():
                if method.upper() in MUTATING:
                    for code in MUTATION_CODES:
                        answer = {"description": DESCRIPTIONS[code], "content": error}
                        operation["responses"].setdefault(str(code), answer)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_error_handlers(app: FastAPI) -> None:
    # Error bodies carry their status as well, as seed 000 shows them.
    @app.exception_handler(AppError)
    async def app_error(_request: Request, exc: AppError) -> JSONResponse:
        if isinstance(exc, InvalidInput):
            body = {"detail": exc.errors or exc.message, "message": exc.message}
            return JSONResponse({**body, "status": exc.status}, exc.status)
        retry = exc.details.get("retry_after")
        headers = {"Retry-After": str(retry)} if retry else None
        return JSONResponse({"detail": exc.message, "status": exc.status}, exc.status, headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(SQLAlchemyTimeout)
    async def database_busy(request: Request, exc: Exception) -> JSONResponse:
        # A locked SQLite file, an exhausted pool or a restarting server: the request changed
        # nothing (its transaction rolled back), so the client may simply try again.
        log.warning("database busy or unreachable", exc_info=exc)
        message = "The database is busy or unreachable; try again in a moment"
        return await app_error(request, AppError(message, status=503, retry_after=2))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not is_body_allowed_for_status_code(exc.status_code):
            return await http_exception_handler(request, exc)
        body = {"detail": exc.detail, "status": exc.status_code}
        return JSONResponse(body, exc.status_code, headers=exc.headers)

    @app.exception_handler(DataError)
    async def refused_value(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL stores no NUL character in text, whatever column a request's value goes
        # to; the transaction is rolled back. Any other refusal is a bug: a 500.
        if "NUL" not in str(exc.orig):
            raise exc
        message = "text must not contain NUL characters (\\u0000, %00)"
        error = {"loc": ["request"], "msg": message, "type": "value_error"}
        return await app_error(request, InvalidInput(message, [error]))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": jsonable_encoder(exc.errors()), "status": 422}, 422)


def _add_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Outermost last: request context → CORS → errors → rate limit → body limit → gzip."""
    # Level 1: JSON shrinks ~10x even so, for a quarter of level 9's CPU.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=1)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, per_minute=settings.api.rate_limit_per_minute)
    app.add_middleware(UnhandledErrorMiddleware)
    origins = settings.api.cors_origins
    if origins:
        wildcard = "*" in origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=["*"] if wildcard else origins,
            allow_credentials=not wildcard,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Content-Type",
                "Authorization",
                "X-API-Key",
                CSRF_HEADER,
                "X-Request-ID",
            ],
            expose_headers=["X-Request-ID", "X-Process-Time", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)


def _add_pages(app: FastAPI) -> None:
    @app.get(
        "/",
        summary="Service overview (JSON) or the dashboard (browsers)",
        tags=["system"],
        response_model=None,
        responses={
            200: {"model": OverviewRead, "content": {"text/html": {"schema": {"type": "string"}}}}
        },
    )
    async def overview(request: Request) -> OverviewRead | FileResponse:
        if wants_html(request) and INDEX_HTML.is_file():
            return dashboard_page()
        return OverviewRead(
            service="jobwerk", version=__version__, docs="/api/docs", health="/api/v1/system/health"
        )

    @app.get(
        "/temu",
        summary="The dashboard (TEMU view)",
        tags=["system"],
        response_class=HTMLResponse,
        responses={404: {"description": "The dashboard is not installed"}},
    )
    async def temu_dashboard() -> FileResponse:
        if not INDEX_HTML.is_file():
            raise HTTPException(404, "The dashboard is not installed")
        return dashboard_page()
