"""The module manager: starts operations (install, update, rollback, uninstall) and runs their
steps in the background; every failure puts the modules folder back as it was."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from jobwerk.core.runtime import Runtime
from jobwerk.errors import AppError, Conflict, NotFound
from jobwerk.manager import _loader, _module_rows
from jobwerk.manager._context import (
    INSTALL_STEPS,
    UPDATE_STEPS,
    Cancelled,
    Context,
    Work,
    reason,
)
from jobwerk.manager._safety import check_module_name
from jobwerk.manager._store import (
    BACKUPS,
    ModuleStore,
    Pointer,
    StepFailed,
    backup_database,
    pip_install,
    probe,
)
from jobwerk.manager._wheel import inspect_wheel
from jobwerk.manager.catalog import CatalogEntry, download, fetch_index, pick, wheel_filename
from jobwerk.manager.operations import Tracker, get_operation, operation_dict
from jobwerk.manager.repositories import get_repository, list_repositories
from jobwerk.modules.registry import ModuleRegistry, ensure_default_jobs

log = structlog.get_logger("jobwerk.manager")
RESTART = "restart jobwerk serve for its HTTP routes"
SWITCHED = "restart jobwerk serve to run it"


class ModuleManager:
    """Installed modules of this process and the operations that change them."""

    def __init__(self, runtime: Runtime, registry: ModuleRegistry) -> None:
        self.runtime = runtime
        self.registry = registry
        self.store = ModuleStore(runtime.settings.data_dir)
        self.tracker = Tracker(runtime)
        self.running: dict[str, Context] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def load_installed(self) -> None:
        """Activate the modules installed in the data folder (at app creation)."""
        _loader.load_installed(self.store, self.registry, self.runtime)

    async def start(self) -> None:
        """Fail operations a stopped process left behind and clear their staging areas."""
        interrupted = await self.tracker.interrupt_all()
        if interrupted:
            log.warning("operations interrupted by a restart", count=interrupted)
        self.store.clear_staging()

    async def stop(self) -> None:
        """Cancel running operations (they roll back) and forget installed modules' imports."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for name in self.store.installed():
            _loader.forget(self.store.folder(name))

    async def launch(self, data: dict[str, Any], work: Work) -> dict[str, Any]:
        context = Context(self.tracker, data)
        self.running[context.id] = context
        task = asyncio.create_task(self._run(context, work), name=f"operation-{context.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return data

    async def wait(self, operation_id: str) -> dict[str, Any]:
        """Wait for an operation started by this process; returns its final state."""
        for task in list(self._tasks):
            if task.get_name() == f"operation-{operation_id}":
                await asyncio.shield(task)
        async with self.runtime.db.session() as session:
            return operation_dict(await get_operation(session, operation_id))

    async def _run(self, context: Context, work: Work) -> None:
        try:
            await self.tracker.change(context.id, status="running")
            message = await work(context)
            if self.store.pointer(context.module) is not None:
                self.prune(context.module)
            await self.tracker.change(
                context.id,
                status="completed",
                progress=100,
                message=message,
                restart_required=context.restart_required,
            )
        except BaseException as exc:
            rolled_back = self._roll_back(context)
            cancelled = isinstance(exc, Cancelled | asyncio.CancelledError)
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self.tracker.change(
                        context.id,
                        status="cancelled" if cancelled else "failed",
                        error=reason(exc),
                        message=("Cancelled" if cancelled else "Failed")
                        + (", rolled back" if rolled_back else ""),
                        rolled_back=rolled_back,
                    )
                )
            if not isinstance(exc, Exception | Cancelled):
                raise
            if not isinstance(exc, AppError | Cancelled):
                log.exception("operation failed", operation_id=context.id)
        finally:
            self.running.pop(context.id, None)
            self.store.clear_staging(context.id)

    def _roll_back(self, context: Context) -> bool:
        done = False
        for action in reversed(context.undo):
            try:
                action()
                done = True
            except Exception:
                log.exception("rollback action failed", operation_id=context.id)
        return done

    async def cancel(self, operation_id: str) -> None:
        context = self.running.get(operation_id)
        if context is None:
            raise Conflict(f"Operation '{operation_id}' is not running here")
        if context.switched:
            raise Conflict("the operation has switched versions; it finishes or rolls back")
        context.cancel_requested = True

    async def _entry(
        self, name: str, repository_id: str | None, version: str | None
    ) -> tuple[Any, CatalogEntry]:
        async with self.runtime.db.session() as session:
            if repository_id:
                repositories = [await get_repository(session, repository_id)]
            else:
                repositories = [r for r in await list_repositories(session) if r.enabled]
        last: AppError = NotFound(f"module '{name}' is in no repository")
        for repository in repositories:
            try:
                return repository, pick(await fetch_index(repository), name, version)
            except AppError as exc:
                last = exc if exc.status != 404 or last.status == 404 else last
        raise last

    async def install(
        self, name: str, repository_id: str | None, version: str | None, requested_by: str | None
    ) -> dict[str, Any]:
        check_module_name(name)
        if name in self.registry.modules or self.store.pointer(name) is not None:
            raise Conflict(f"Conflict - module '{name}' is already installed; update it instead")
        repository, entry = await self._entry(name, repository_id, version)
        data = await self.tracker.create(
            "install",
            name,
            INSTALL_STEPS,
            requested_by=requested_by,
            request={"repository_id": repository.id, "version": entry.version},
        )
        return await self.launch(data, lambda context: self._stage(context, repository, entry))

    async def update(
        self, name: str, repository_id: str | None, version: str | None, requested_by: str | None
    ) -> dict[str, Any]:
        check_module_name(name)
        current = self._installed(name)
        repository, entry = await self._entry(name, repository_id, version)
        if entry.version == current.version:
            raise Conflict(f"Conflict - module '{name}' {entry.version} is already installed")
        if entry.version == current.previous:
            raise Conflict(f"{name} {entry.version} is the previous version: roll back instead")
        data = await self.tracker.create(
            "update",
            name,
            UPDATE_STEPS,
            requested_by=requested_by,
            request={
                "repository_id": repository.id,
                "version": entry.version,
                "from_version": current.version,
            },
        )
        return await self.launch(data, lambda context: self._stage(context, repository, entry))

    def _installed(self, name: str) -> Pointer:
        pointer = self.store.pointer(name)
        if pointer is None:
            if name in self.registry.modules:
                raise Conflict(f"module '{name}' is built in; it changes with jobwerk itself")
            raise NotFound(f"module '{name}' is not installed")
        return pointer

    async def _stage(self, context: Context, repository: Any, entry: CatalogEntry) -> str:
        name, staging = context.module, self.store.staging(context.id)
        archive = staging / wheel_filename(entry)
        async with context.step("download", f"Downloading {name} {entry.version}"):
            digest = await download(repository, entry, archive)
        async with context.step("verify", "Verifying the archive"):
            if digest != entry.sha256:
                raise StepFailed(f"SHA-256 mismatch: the catalog says {entry.sha256}, got {digest}")
            info = await asyncio.to_thread(inspect_wheel, archive)
            if name not in info.entry_points:
                raise StepFailed(f"the wheel declares no '{name}' module entry point")
        async with context.step("compatibility", "Checking compatibility"):
            reason = entry.fits()
            if reason:
                raise StepFailed(f"{name} {entry.version} {reason}")
            self._check_top_level(name, info.top_level)
        tree = staging / "tree"
        async with context.step("install", "Installing the wheel"):
            await pip_install(archive, info, tree, staging)
        previous = self.store.pointer(name)
        if previous is not None:
            async with context.step("backup", "Backing up the database before migrations"):
                await backup_database(self.runtime, self.store.folder(name) / BACKUPS, previous)
        async with context.step("check", "Checking the module and running its migrations"):
            result = await probe(
                tree,
                name,
                info.entry_points[name],
                database_url=self.runtime.settings.database_url,
                previous=previous.version if previous else None,
            )
            if not result.get("ok"):
                stage = "migration" if result.get("stage") == "migrate" else "import check"
                raise StepFailed(f"{stage} failed: {result.get('error')}")
        async with context.step("activate", "Activating"):
            self._place(context, tree, entry.version)
            return await self._switch(context, entry, info.entry_points[name], repository.id)

    def _place(self, context: Context, tree: Path, version: str) -> None:
        """Move the staged tree to ``<name>/<version>/`` (a stale folder of a crash is replaced)."""
        name = context.module
        target = self.store.folder(name, version)
        if target.exists():
            self.store.remove_version(name, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tree, target)
        context.undo.append(lambda: self.store.remove_version(name, version))

    def _check_top_level(self, name: str, packages: set[str]) -> None:
        own = self.store.folder(name)
        for package in packages:
            try:
                spec = importlib.util.find_spec(package)
            except (ImportError, ValueError):
                spec = None
            origin = spec.origin if spec else None
            if spec is not None and not (origin and _loader._under(origin, own)):
                raise StepFailed(f"the wheel's package '{package}' would shadow an installed one")

    async def _switch(
        self, context: Context, entry: CatalogEntry, entry_point: str, repository_id: str
    ) -> str:
        name = context.module
        previous = self.store.pointer(name)
        pointer = Pointer(
            name=name,
            version=entry.version,
            entry_point=entry_point,
            previous=previous.version if previous else None,
            previous_entry_point=previous.entry_point if previous else None,
            repository=repository_id,
            installed_at=datetime.now(UTC).isoformat(),
        )
        self.store.write_pointer(pointer)
        context.switched = True
        if previous is not None:
            context.undo.append(lambda: self.store.write_pointer(previous))
            context.restart_required = True
            return f"{name} {entry.version} installed; {SWITCHED} (the previous version is kept)"
        context.undo.append(lambda: self.store.remove_pointer(name))
        await self._activate(context, pointer)
        return f"{name} {entry.version} installed; {RESTART}"

    def prune(self, name: str) -> None:
        """Delete version folders other than the active and the previous one."""
        pointer = self.store.pointer(name)
        if pointer is None:
            return
        keep = {pointer.version, pointer.previous, BACKUPS}
        for child in self.store.folder(name).iterdir():
            if child.is_dir() and child.name not in keep:
                self.store.remove_version(name, child.name)

    async def _activate(self, context: Context, pointer: Pointer) -> None:
        loaded = _loader.activate(self.store, self.registry, self.runtime, pointer)
        context.undo.append(
            lambda: _loader.deactivate(self.store, self.registry, self.runtime, pointer.name)
        )
        if loaded.module is None:
            raise StepFailed(f"activation failed: {loaded.error}")
        await ensure_default_jobs(self.runtime, loaded.module)
        context.restart_required = True

    async def rollback(self, name: str, requested_by: str | None) -> dict[str, Any]:
        """Switch back to the version kept by the last update."""
        check_module_name(name)
        current = self._installed(name)
        if not current.previous or not current.previous_entry_point:
            raise Conflict(f"module '{name}' has no previous version to roll back to")
        if not self.store.folder(name, current.previous).is_dir():
            raise Conflict(f"the previous version {current.previous} of '{name}' is gone")
        data = await self.tracker.create(
            "rollback",
            name,
            [("switch", "Switch to the previous version")],
            requested_by=requested_by,
            request={"from_version": current.version, "to_version": current.previous},
        )

        async def work(context: Context) -> str:
            async with context.step("switch", f"Switching {name} to {current.previous}"):
                assert current.previous and current.previous_entry_point
                self.store.write_pointer(
                    Pointer(
                        name=name,
                        version=current.previous,
                        entry_point=current.previous_entry_point,
                        previous=current.version,
                        previous_entry_point=current.entry_point,
                        repository=current.repository,
                        installed_at=datetime.now(UTC).isoformat(),
                    )
                )
                context.undo.append(lambda: self.store.write_pointer(current))
                context.restart_required = True
            return f"{name} rolled back to {current.previous}; {SWITCHED}"

        return await self.launch(data, work)

    async def uninstall(self, name: str, force: bool, requested_by: str | None) -> dict[str, Any]:
        """Remove an installed module; refused while it has instances unless ``force``.

        Its jobs (and, forced, its instances) are deleted; runs stay as history.
        """
        check_module_name(name)
        self._installed(name)
        count = await _module_rows.count_instances(self.runtime, name)
        if count and not force:
            raise Conflict(
                f"Conflict - module '{name}' has {count} instance(s); delete them or force"
            )
        runs = await _module_rows.active_runs(self.runtime, name)
        if runs:
            raise Conflict(f"module '{name}' has {runs} queued or running run(s); wait for them")
        data = await self.tracker.create(
            "uninstall",
            name,
            [("jobs", "Remove jobs and instances"), ("remove", "Remove the module files")],
            requested_by=requested_by,
            request={"force": force},
        )

        async def work(context: Context) -> str:
            async with context.step("jobs", "Removing jobs and instances"):
                await _module_rows.remove_module_rows(self.runtime, name)
            async with context.step("remove", "Removing the module"):
                context.switched = True
                self.store.remove_pointer(name)
                _loader.deactivate(self.store, self.registry, self.runtime, name)
                self.store.remove_module(name)
            return f"{name} uninstalled; run history is kept"

        return await self.launch(data, work)
