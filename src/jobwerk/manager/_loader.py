"""Activating installed modules in this process: ``sys.path``, entry point, workflows.

CPython cannot truly unload a package, so an update becomes active after a restart; at start
the active version of every installed module is loaded from the data folder.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import structlog

from jobwerk.core.runtime import Runtime
from jobwerk.manager._store import ModuleStore, Pointer
from jobwerk.modules.registry import GROUP, LoadedModule, ModuleRegistry, register_module

log = structlog.get_logger("jobwerk.manager")


def _under(path: str | None, folder: Path) -> bool:
    if not path:
        return False
    try:
        Path(path).resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def forget(folder: Path, keep: Path | None = None) -> None:
    """Drop ``sys.path`` entries and imported modules that live in ``folder`` (but not ``keep``)."""
    folder = folder.resolve()
    sys.path[:] = [
        entry for entry in sys.path if not _under(entry, folder) or (keep and _under(entry, keep))
    ]
    for name, loaded in list(sys.modules.items()):
        where = getattr(loaded, "__file__", None)
        if _under(where, folder) and not (keep and _under(where, keep)):
            del sys.modules[name]
    importlib.invalidate_caches()


def activate(
    store: ModuleStore, registry: ModuleRegistry, runtime: Runtime | None, pointer: Pointer
) -> LoadedModule:
    """Load the pointer's version and, given a runtime, register its workflows and resources;
    a failure is recorded, not raised."""
    tree = store.folder(pointer.name, pointer.version)
    forget(store.folder(pointer.name), keep=tree)
    if str(tree) not in sys.path:
        sys.path.append(str(tree))
    entry = EntryPoint(name=pointer.name, value=pointer.entry_point, group=GROUP)
    loaded = registry.add_entry(pointer.name, entry.load, source=f"{pointer.entry_point} ({tree})")
    module = loaded.module
    if module is None:
        return loaded
    if loaded.name != pointer.name:
        registry.modules.pop(loaded.name, None)
        loaded = LoadedModule(
            pointer.name, "failed", error=f"the module calls itself '{loaded.name}'"
        )
        registry.modules[pointer.name] = loaded
        return loaded
    if runtime is None:
        return loaded
    try:
        register_module(runtime, pointer.name, module)
    except Exception as exc:
        runtime.workflows.unregister_module(pointer.name)
        loaded.status, loaded.error, loaded.module = "failed", f"{type(exc).__name__}: {exc}", None
    return loaded


def deactivate(store: ModuleStore, registry: ModuleRegistry, runtime: Runtime, name: str) -> None:
    runtime.workflows.unregister_module(name)
    registry.modules.pop(name, None)
    forget(store.folder(name))


def load_installed_from(data_dir: Path, registry: ModuleRegistry) -> list[LoadedModule]:
    """Add the modules installed in a data folder to ``registry`` (for the CLI's commands)."""
    return load_installed(ModuleStore(data_dir), registry, None)


def load_installed(
    store: ModuleStore, registry: ModuleRegistry, runtime: Runtime | None
) -> list[LoadedModule]:
    """Activate every module installed in the data folder (built-in names win)."""
    results = []
    for name, pointer in store.installed().items():
        if name in registry.modules and registry.modules[name].status == "loaded":
            log.warning("installed module shadowed by a built-in one", module=name)
            continue
        results.append(activate(store, registry, runtime, pointer))
    return results
