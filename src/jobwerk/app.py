"""The FastAPI application: lifespan (database, engine, modules), middleware, routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from jobwerk import __version__
from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.modules.registry import ModuleRegistry

log = structlog.get_logger("jobwerk.app")


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the engine and modules start in its lifespan."""
    runtime = runtime or Runtime(settings)
    modules = ModuleRegistry()
    modules.discover(settings.modules)
    modules.attach(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.db.ping()
        await runtime.start()
        await modules.startup(runtime)
        log.info("jobwerk started", version=__version__, database=runtime.db.engine.url.drivername)
        try:
            yield
        finally:
            await modules.shutdown(runtime)
            await runtime.stop()

    app = FastAPI(
        title="jobwerk",
        version=__version__,
        description="Self-hosted job server for shop integrations.",
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
    )
    app.state.runtime = runtime
    app.state.modules = modules

    @app.get("/health", summary="Liveness", tags=["system"])
    @app.get("/api/health", summary="Liveness", tags=["system"])
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    for module in modules.loaded():
        for router in module.routers():
            app.include_router(router)
    return app
