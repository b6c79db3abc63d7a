"""What a module's steps share within one process — connection pools, clients, caches — made on
first use and closed when the runtime stops, like arq's ``ctx``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

Factory = Callable[[], AbstractAsyncContextManager[Any] | None]


class ProcessResources:
    """Each module's resources of this process, by module name."""

    def __init__(self) -> None:
        self._factories: dict[str, Factory] = {}
        self._open: dict[str, Any] = {}
        self._stack = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()

    def provide(self, module: str, factory: Factory) -> None:
        """Say how ``module``'s resources are made: ``factory()`` returns an async context
        manager (or None), entered the first time a step of the module runs here."""
        self._factories[module] = factory

    async def get(self, module: str) -> Any:
        """``module``'s resources, made on first use; None when it provides none."""
        if module in self._open:
            return self._open[module]
        async with self._lock:
            if module not in self._open:
                factory = self._factories.get(module)
                manager = factory() if factory else None
                self._open[module] = (
                    await self._stack.enter_async_context(manager) if manager else None
                )
        return self._open[module]

    async def close(self) -> None:
        """Close every module's resources, the last made first."""
        stack, self._stack = self._stack, contextlib.AsyncExitStack()
        self._open.clear()
        await stack.aclose()
