"""Instances as seed 004 shows them, and the operations that create, delete or promote one."""

from __future__ import annotations

import shutil
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core import instances as core
from jobwerk.core.instances import secret_fields
from jobwerk.core.runtime import Runtime
from jobwerk.errors import Conflict, NotFound
from jobwerk.manager._context import Context
from jobwerk.manager._safety import check_instance_id, check_module_name, inside
from jobwerk.manager.module_manager import ModuleManager
from jobwerk.modules.base import Module
from jobwerk.modules.registry import ensure_default_jobs
from jobwerk.storage.models import Instance, Job


def instance_status(instance: Instance, jobs: list[Job], loaded: bool) -> str:
    """``error`` when the module is not loaded; ``running`` while a job is scheduled;
    ``stopped`` when its jobs are disabled; ``installed`` without jobs."""
    if not loaded:
        return "error"
    if not jobs:
        return "installed" if instance.enabled else "stopped"
    return "running" if instance.enabled and any(job.enabled for job in jobs) else "stopped"


def instance_dict(manager: ModuleManager, instance: Instance, jobs: list[Job]) -> dict[str, Any]:
    module = manager.registry.get(instance.module)
    model = module.settings_model if module else None
    secrets = secret_fields(model) if model else set()
    stored = set(manager.runtime.box.open(instance.secrets)) if instance.secrets else set()
    return {
        "instance_id": instance.id,
        "module_name": instance.module,
        "name": instance.name,
        "path": f"/modules/{instance.module}/{instance.id}",
        "version": module.version if module else None,
        "status": instance_status(instance, jobs, module is not None),
        "is_primary": instance.is_primary,
        "enabled": instance.enabled,
        "frontend_url": f"/{instance.module}" if module and module.routers() else None,
        "settings": instance.settings,
        "secrets": {name: name in stored for name in sorted(secrets)},
        "jobs": [job.id for job in jobs],
        "created_at": instance.created_at,
        "updated_at": instance.updated_at,
    }


async def _jobs(session: AsyncSession, instance_ids: list[str]) -> dict[str, list[Job]]:
    found: dict[str, list[Job]] = {key: [] for key in instance_ids}
    if instance_ids:
        for job in await session.scalars(select(Job).where(Job.instance_id.in_(instance_ids))):
            found[job.instance_id or ""].append(job)
    return found


async def describe(
    manager: ModuleManager, session: AsyncSession, instances: list[Instance]
) -> list[dict[str, Any]]:
    jobs = await _jobs(session, [instance.id for instance in instances])
    return [instance_dict(manager, instance, jobs[instance.id]) for instance in instances]


async def find(session: AsyncSession, module_name: str, instance_id: str) -> Instance:
    """The instance of ``module_name``; 400 for malformed names or ids, 404 if absent."""
    check_module_name(module_name)
    check_instance_id(instance_id)
    instance = await session.get(Instance, instance_id)
    if instance is None or instance.module != module_name:
        raise NotFound(f"Instance '{instance_id}' of module '{module_name}' not found")
    return instance


def loaded_module(manager: ModuleManager, module_name: str) -> Module:
    check_module_name(module_name)
    module = manager.registry.get(module_name)
    if module is None:
        raise NotFound(f"module '{module_name}' is not installed or failed to load")
    if module.settings_model is None:
        raise Conflict(f"module '{module_name}' has no instances")
    return module


def instance_folder(runtime: Runtime, module_name: str, instance_id: str) -> Any:
    return inside(runtime.settings.data_dir / "instances", module_name, instance_id)


async def install_instance(
    manager: ModuleManager,
    module_name: str,
    name: str | None,
    settings: dict[str, Any],
    primary: bool | None,
    requested_by: str | None,
) -> dict[str, Any]:
    """Queue the creation of an instance; settings are validated before anything is queued.

    ``primary`` None makes the module's first instance its primary one.
    """
    module = loaded_module(manager, module_name)
    assert module.settings_model is not None
    core.validate_settings(module.settings_model, settings)
    data = await manager.tracker.create(
        "install_instance",
        module_name,
        [("create", "Create the instance"), ("jobs", "Create its jobs")],
        requested_by=requested_by,
        request={"name": name, "set_primary": primary},
        message="Installation queued",
    )

    async def work(context: Context) -> str:
        async with context.step("create", "Creating the instance"):
            async with manager.runtime.transaction() as session:
                instance = await core.create_instance(
                    session,
                    manager.runtime.box,
                    module_name,
                    module.settings_model,
                    name or f"{module_name}-{context.id[:8]}",
                    settings,
                    primary=primary,
                )
            await manager.tracker.change(context.id, instance_id=instance.id)
        async with context.step("jobs", "Creating its default jobs"):
            await ensure_default_jobs(manager.runtime, module, instance, enabled=False)
        return f"instance {instance.id} of {module_name} created; enable its jobs to run them"

    return await manager.launch(data, work)


async def delete_instance(
    manager: ModuleManager,
    module_name: str,
    instance_id: str,
    delete_files: bool,
    requested_by: str | None,
) -> dict[str, Any]:
    async with manager.runtime.db.session() as session:
        await find(session, module_name, instance_id)
    folder = instance_folder(manager.runtime, module_name, instance_id)
    data = await manager.tracker.create(
        "delete_instance",
        module_name,
        [("delete", "Delete the instance and its jobs"), ("files", "Delete its files")],
        instance_id=instance_id,
        requested_by=requested_by,
        request={"delete_files": delete_files},
        message="Deletion queued",
    )

    async def work(context: Context) -> str:
        async with (
            context.step("delete", "Deleting the instance"),
            manager.runtime.transaction() as session,
        ):
            await session.execute(delete(Instance).where(Instance.id == instance_id))
        async with context.step("files", "Deleting its files"):
            if delete_files:
                shutil.rmtree(folder, ignore_errors=True)
        return f"instance {instance_id} deleted; its runs are kept"

    return await manager.launch(data, work)


async def set_primary(
    manager: ModuleManager, module_name: str, instance_id: str, requested_by: str | None
) -> dict[str, Any]:
    async with manager.runtime.db.session() as session:
        await find(session, module_name, instance_id)
    data = await manager.tracker.create(
        "set_primary",
        module_name,
        [("switch", "Switch the primary instance")],
        instance_id=instance_id,
        requested_by=requested_by,
    )

    async def work(context: Context) -> str:
        async with (
            context.step("switch", "Switching the primary instance"),
            manager.runtime.transaction() as session,
        ):
            await core.set_primary(session, instance_id)
        return f"instance {instance_id} is now the primary {module_name} instance"

    return await manager.launch(data, work)


async def update_instance(
    manager: ModuleManager,
    module_name: str,
    instance_id: str,
    settings: dict[str, Any],
    name: str | None,
) -> dict[str, Any]:
    """Merge settings (validated by the module's model; omitted secrets keep their value)."""
    module = loaded_module(manager, module_name)
    async with manager.runtime.transaction() as session:
        instance = await find(session, module_name, instance_id)
        await core.update_settings(
            session, manager.runtime.box, instance, module.settings_model, settings
        )
        if name:
            instance.name = name
        await session.flush()
        [view] = await describe(manager, session, [instance])
    return view
