"""Read models assembled from the catalogs, the modules folder, the registry and the database."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk import __version__
from jobwerk.core import instances as core
from jobwerk.manager import instances, repositories
from jobwerk.manager._safety import check_module_name, check_repository_id
from jobwerk.manager.models import ModuleOperation
from jobwerk.manager.module_manager import ModuleManager
from jobwerk.storage.models import Instance


async def repository_list(manager: ModuleManager, session: AsyncSession) -> list[dict[str, Any]]:
    rows = await repositories.list_repositories(session)
    catalogs = await repositories.read_catalogs(rows)
    installed = manager.store.installed()
    return [
        repositories.repository_dict(row, *catalogs.get(row.id, ([], None)), installed)
        for row in rows
    ]


async def catalog(
    manager: ModuleManager,
    session: AsyncSession,
    *,
    repository_id: str | None,
    category: str | None,
    installed: bool | None,
    text: str | None,
) -> dict[str, Any]:
    rows = await repositories.list_repositories(session)
    if repository_id is not None:
        check_repository_id(repository_id)
        rows = [await repositories.get_repository(session, repository_id)]
    catalogs = await repositories.read_catalogs(rows)
    pointers = manager.store.installed()
    modules = [
        repositories.module_dict(entry, row_id, pointers)
        for row_id, (entries, _error) in catalogs.items()
        for entry in entries
    ]
    modules = repositories.filter_modules(
        modules, category=category, installed=installed, text=text
    )
    return {
        "modules": modules,
        "total": len(modules),
        "categories": dict(Counter(module["category"] for module in modules)),
    }


async def instance_map(manager: ModuleManager, session: AsyncSession) -> dict[str, Any]:
    found = await instances.describe(manager, session, await core.list_instances(session))
    grouped: dict[str, list[dict[str, Any]]] = {}
    for view in found:
        grouped.setdefault(view["module_name"], []).append(view)
    return {"modules": grouped, "total_modules": len(grouped), "total_instances": len(found)}


async def primary(manager: ModuleManager, session: AsyncSession, module_name: str) -> Any:
    check_module_name(module_name)
    instance = await core.primary_instance(session, module_name)
    [view] = await instances.describe(manager, session, [instance])
    return view


def module_list(manager: ModuleManager) -> list[dict[str, Any]]:
    pointers = manager.store.installed()
    names = sorted(set(manager.registry.modules) | set(pointers))
    result = []
    for name in names:
        entry = manager.registry.modules.get(name)
        pointer = pointers.get(name)
        described = (
            entry.describe()
            if entry
            else {
                "name": name,
                "status": "not_loaded",
                "error": None,
                "version": None,
                "title": name,
                "description": "",
                "workflows": [],
                "has_instances": False,
            }
        )
        if pointer is not None and (entry is None or entry.module is None):
            described["version"] = pointer.version
        result.append(
            {
                **described,
                "source": "installed" if pointer else "builtin",
                "previous_version": pointer.previous if pointer else None,
                "repository_id": pointer.repository if pointer else None,
            }
        )
    return result


async def status(manager: ModuleManager, session: AsyncSession) -> dict[str, Any]:
    runtime = manager.runtime
    rows = await session.execute(
        select(ModuleOperation.status, func.count()).group_by(ModuleOperation.status)
    )
    operations = {str(status): int(count) for status, count in rows}
    states = Counter(entry.status for entry in manager.registry.modules.values())
    instance_count = await session.scalar(select(func.count()).select_from(Instance))
    return {
        "status": "degraded" if states.get("failed") else "ok",
        "service": "jobwerk",
        "version": __version__,
        "uptime_seconds": round(time.time() - runtime.started_at, 3),
        "database": runtime.db.engine.url.get_backend_name(),
        "tls": bool(runtime.settings.api.tls_cert and runtime.settings.api.tls_key),
        "data_dir": str(runtime.settings.data_dir.resolve()),
        "modules": {
            "loaded": states.get("loaded", 0),
            "failed": states.get("failed", 0),
            "installed": len(manager.store.installed()),
        },
        "repositories": len(await repositories.list_repositories(session)),
        "operations": operations,
        "instances": int(instance_count or 0),
    }
