"""Health checks and statistics behind ``/api/v1/system``."""

from __future__ import annotations

import asyncio
import shutil
import time
from functools import partial
from typing import Any

import psutil
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk import __version__
from jobwerk.api.schemas.system import (
    HealthRead,
    JobStats,
    PerformanceStats,
    ResourceStats,
    StatsRead,
)
from jobwerk.core.cache import ExpiringCache
from jobwerk.core.instances import primary_instance
from jobwerk.core.runtime import Runtime
from jobwerk.errors import NotFound
from jobwerk.modules.base import Module
from jobwerk.modules.registry import ModuleRegistry
from jobwerk.storage.models import Instance, Job, Run

CHECK_TIMEOUT = 3.0
MODULE_CHECK_SECONDS = 30.0


async def runs_by_status(session: AsyncSession) -> dict[str, int]:
    """How many runs are in each state."""
    rows = await session.execute(select(Run.status, func.count()).group_by(Run.status))
    return {status: int(count) for status, count in rows.all()}


async def _database(runtime: Runtime) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(runtime.db.ping(), CHECK_TIMEOUT)
    except Exception as exc:
        return {"status": "fail", "error": type(exc).__name__}
    return {
        "status": "ok",
        "backend": runtime.db.engine.url.get_backend_name(),
        "latency_ms": round((time.perf_counter() - start) * 1000, 2),
    }


async def _module_check(runtime: Runtime, module: Module) -> dict[str, Any]:
    """A module's own checks, for its primary instance when it has one."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with runtime.db.read() as session:
                try:
                    primary: Instance | None = await primary_instance(session, module.name)
                except NotFound:
                    primary = None
            return await module.health(runtime, primary)
    except Exception as exc:
        return {f"module:{module.name}": {"status": "fail", "error": type(exc).__name__}}


async def _module_checks(
    runtime: Runtime,
    modules: ModuleRegistry,
    cache: ExpiringCache[dict[str, Any]],
    detailed: bool,
) -> dict[str, dict[str, Any]]:
    """Each module's checks; without ``detailed`` (an anonymous caller) only their status."""
    checks: dict[str, dict[str, Any]] = {}
    for name, entry in modules.modules.items():
        if entry.module is None:
            checks[f"module:{name}"] = {"status": "fail", "error": entry.error}
            continue
        module = entry.module
        result = await cache.get(name, partial(_module_check, runtime, module))
        for key, value in result.items():
            checks[key] = value if isinstance(value, dict) else {"status": str(value)}
        checks.setdefault(f"module:{name}", {"status": "ok", "version": module.version})
    if detailed:
        return checks
    return {key: {"status": check.get("status")} for key, check in checks.items()}


def _failing(check: dict[str, Any]) -> bool:
    return str(check.get("status", "ok")).lower() not in ("ok", "pass", "healthy", "disabled")


def module_check_cache() -> ExpiringCache[dict[str, Any]]:
    """Module checks may call TEMU or JTL: a polled, public readiness route repeats them at
    most every ``MODULE_CHECK_SECONDS``."""
    return ExpiringCache(MODULE_CHECK_SECONDS, size=64)


async def check_health(
    runtime: Runtime,
    modules: ModuleRegistry,
    cache: ExpiringCache[dict[str, Any]],
    *,
    detailed: bool,
) -> HealthRead:
    """Readiness: the database must answer; failing module checks only degrade.

    The route is public: module checks (TEMU and JTL messages, versions, load errors naming
    files) are shown in full only to an authenticated caller.
    """
    database = await _database(runtime)
    dependencies: dict[str, dict[str, Any]] = {
        "database": database,
        "executor": {
            "status": "ok" if runtime.settings.engine.execute else "disabled",
            "kind": runtime.settings.engine.executor,
            "active_runs": runtime.executor.active_count,
        },
        "event_bus": {"status": "ok", "subscribers": runtime.bus.subscriber_count},
    }
    dependencies.update(await _module_checks(runtime, modules, cache, detailed))
    if _failing(database):
        status = "unhealthy"
    elif any(_failing(check) for check in dependencies.values()):
        status = "degraded"
    else:
        status = "healthy"
    return HealthRead(
        status=status,
        version=__version__,
        uptime=round(time.time() - runtime.started_at, 3),
        dependencies=dependencies,
    )


async def collect_stats(runtime: Runtime, http_requests: int, websocket_clients: int) -> StatsRead:
    async with runtime.db.session() as session:
        by_status = await runs_by_status(session)
        jobs = (
            await session.execute(
                select(func.count(), func.count().filter(Job.enabled)).select_from(Job)
            )
        ).one()
    process = psutil.Process()
    with process.oneshot():
        rss, threads = process.memory_info().rss, process.num_threads()
        cpu = process.cpu_percent(interval=None)
    disk = shutil.disk_usage(
        runtime.settings.data_dir if runtime.settings.data_dir.exists() else "."
    )
    return StatsRead(
        jobs=JobStats(
            runs_by_status=by_status,
            runs_total=sum(by_status.values()),
            active=runtime.executor.active_count,
            configured_jobs=int(jobs[0]),
            enabled_jobs=int(jobs[1] or 0),
        ),
        performance=PerformanceStats(
            uptime=round(time.time() - runtime.started_at, 3),
            http_requests=http_requests,
            websocket_clients=websocket_clients,
            concurrency=runtime.settings.engine.concurrency,
        ),
        resources=ResourceStats(
            cpu_percent=cpu, memory_rss_bytes=rss, threads=threads, disk_free_bytes=disk.free
        ),
    )
