"""Undoing what a test installed into this process.

CPython keeps an imported package for good, so a module one test installs (a manager wheel put on
``sys.path`` and imported) would shadow the same package another test installs from its own data
folder, and make the order of tests matter.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _inside(path: str | None, folders: list[Path]) -> bool:
    return bool(path) and any(Path(str(path)).resolve().is_relative_to(f) for f in folders)


@contextmanager
def installs_undone(under: Path) -> Iterator[None]:
    """On exit, drop the ``sys.path`` entries below ``under`` that were added meanwhile, the
    modules imported from them (so their distributions and entry points are gone too) and the
    import system's caches of them."""
    before = set(sys.path)
    try:
        yield
    finally:
        under = under.resolve()
        added = [entry for entry in sys.path if entry not in before and _inside(entry, [under])]
        if added:
            folders = [Path(entry).resolve() for entry in added]
            sys.path[:] = [entry for entry in sys.path if entry not in added]
            for entry in added:
                sys.path_importer_cache.pop(entry, None)
            for name, module in list(sys.modules.items()):
                if _inside(getattr(module, "__file__", None), folders):
                    del sys.modules[name]
            importlib.invalidate_caches()
