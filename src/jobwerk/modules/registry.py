"""Discovers modules through the ``jobwerk.modules`` entry points; a broken one is skipped."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from importlib.metadata import entry_points
from typing import Any

import structlog
from sqlalchemy import select

from jobwerk.core import job_service
from jobwerk.core.runtime import Runtime
from jobwerk.modules.base import CONTRACT_VERSION, Module
from jobwerk.storage.models import Instance, Job

log = structlog.get_logger("jobwerk.modules")
GROUP = "jobwerk.modules"


@dataclass
class LoadedModule:
    name: str
    status: str  # "loaded" | "failed"
    module: Module | None = None
    error: str | None = None
    source: str = ""

    def describe(self) -> dict[str, Any]:
        module = self.module
        return {
            "name": self.name,
            "status": self.status,
            "error": self.error,
            "version": module.version if module else None,
            "title": (module.title or module.name) if module else self.name,
            "description": module.description if module else "",
            "workflows": [workflow.name for workflow in module.workflows()] if module else [],
            "has_instances": bool(module and module.settings_model),
        }


class ModuleRegistry:
    """The modules of this process, loaded or failed."""

    def __init__(self) -> None:
        self.modules: dict[str, LoadedModule] = {}

    def discover(self, only: list[str] | None = None) -> None:
        """Load every module of the entry-point group (or only the named ones)."""
        for entry in entry_points(group=GROUP):
            if only is not None and entry.name not in only:
                continue
            self.add_entry(entry.name, entry.load, source=entry.value)

    def add_entry(self, name: str, load: Any, source: str = "") -> LoadedModule:
        try:
            module = load()
            if isinstance(module, type):
                module = module()
            if not isinstance(module, Module):
                raise TypeError(f"{source or name} is not a jobwerk Module")
            if module.contract_version > CONTRACT_VERSION:
                raise RuntimeError(
                    f"needs module contract {module.contract_version}; "
                    f"this jobwerk offers {CONTRACT_VERSION}"
                )
            loaded = LoadedModule(module.name, "loaded", module, source=source)
        except Exception as exc:
            log.error("module failed to load", module=name, error=str(exc))
            loaded = LoadedModule(
                name, "failed", error=f"{type(exc).__name__}: {exc}", source=source
            )
        self.modules[loaded.name] = loaded
        return loaded

    def loaded(self) -> list[Module]:
        return [entry.module for entry in self.modules.values() if entry.module is not None]

    def get(self, name: str) -> Module | None:
        entry = self.modules.get(name)
        return entry.module if entry else None

    def attach(self, runtime: Runtime) -> None:
        """Register the workflows and the per-process resources of every loaded module."""
        for entry in list(self.modules.values()):
            if entry.module is None:
                continue
            try:
                register_module(runtime, entry.name, entry.module)
            except Exception as exc:
                runtime.workflows.unregister_module(entry.name)
                self._fail(entry, exc, "registering workflows")

    async def startup(self, runtime: Runtime, *, hooks: bool = True) -> None:
        """Create default jobs and (with ``hooks``) call each module's start-up hook."""
        for entry in list(self.modules.values()):
            if entry.module is None:
                continue
            try:
                await ensure_default_jobs(runtime, entry.module)
                if hooks:
                    await entry.module.startup(runtime)
            except Exception as exc:
                self._fail(entry, exc, "starting")
                runtime.workflows.unregister_module(entry.name)

    async def demo(self, runtime: Runtime) -> list[str]:
        """Call every loaded module's ``demo`` hook; returns the lines they ask to show."""
        lines = []
        for module in self.loaded():
            line = await module.demo(runtime)
            if line:
                lines.append(line)
        return lines

    async def shutdown(self, runtime: Runtime) -> None:
        for module in self.loaded():
            try:
                await module.shutdown(runtime)
            except Exception:
                log.exception("module failed to shut down", module=module.name)

    def _fail(self, entry: LoadedModule, exc: Exception, doing: str) -> None:
        log.error(f"module failed while {doing}", module=entry.name, error=str(exc))
        entry.status, entry.error, entry.module = "failed", f"{type(exc).__name__}: {exc}", None


def register_module(runtime: Runtime, name: str, module: Module) -> None:
    """Register ``module``'s workflows and per-process resources under ``name``.

    Raises:
        ValueError: a workflow's name is outside ``<name>.``.
    """
    for workflow in module.workflows():
        if workflow.module != name:
            raise ValueError(f"workflow {workflow.name} is outside '{name}.'")
        runtime.workflows.register(workflow)
    runtime.resources.provide(name, partial(module.resources, runtime))


async def ensure_default_jobs(
    runtime: Runtime, module: Module, instance: Instance | None = None, *, enabled: bool = True
) -> list[str]:
    """Create the module's default jobs that do not exist yet; returns their ids.

    With ``enabled=False`` they are created disabled whatever the module says: a new instance's
    schedules wait until the seller has checked its settings and enables them.
    """
    async with runtime.transaction() as session:
        if module.settings_model is None:
            targets: list[Instance | None] = [None]
        elif instance is not None:
            targets = [instance]
        else:
            targets = list(
                await session.scalars(select(Instance).where(Instance.module == module.name))
            )
        created = []
        for target in targets:
            for spec in module.default_jobs(target):
                if await session.get(Job, spec.id) is not None:
                    continue
                await job_service.save_job(
                    session,
                    runtime.workflows,
                    spec.id,
                    spec.workflow,
                    instance_id=target.id if target else None,
                    params=spec.params,
                    title=spec.title,
                    interval_minutes=spec.interval_minutes,
                    cron=spec.cron,
                    timezone=spec.timezone,
                    enabled=spec.enabled and enabled,
                )
                created.append(spec.id)
    return created
