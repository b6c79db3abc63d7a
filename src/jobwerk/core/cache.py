"""An in-memory cache whose values stay fresh for a few seconds (verified API keys, checks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class ExpiringCache(Generic[V]):
    """Values fresh for ``ttl`` seconds (0: no caching at all).

    A value up to ``ttl`` seconds past that is still served while one caller's load replaces
    it, and callers missing a key that is being loaded wait for that one load: under steady
    load an expiry costs one read and no waiting.
    """

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._values: dict[Hashable, tuple[V, float]] = {}
        self._loading: dict[Hashable, asyncio.Future[V]] = {}

    def clear(self) -> None:
        """Forget every value; loads under way are not kept either."""
        self._values.clear()
        self._loading.clear()

    def _refresh(self) -> None:
        """Called before a value is read or kept; subclasses drop what went stale."""

    async def get(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[V]],
        keep: Callable[[V], bool] = lambda _: True,
    ) -> V:
        """The value for ``key``: from memory, from a load under way, or from ``load()``;
        kept only when ``keep(value)``."""
        if self.ttl <= 0:
            return await load()
        self._refresh()
        now = self.clock()
        entry = self._values.get(key)
        if entry is not None and now < entry[1]:
            return entry[0]
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, load, keep))
            pending.add_done_callback(_consume)  # a load nobody waited for may fail unseen
            self._loading[key] = pending
        if entry is not None and now < entry[1] + self.ttl:
            return entry[0]
        return await asyncio.shield(pending)

    async def _load(
        self, key: Hashable, load: Callable[[], Awaitable[V]], keep: Callable[[V], bool]
    ) -> V:
        try:
            value = await load()
        finally:
            self._refresh()
            # Still listed unless the cache was cleared meanwhile (then the value may be stale).
            current = self._loading.get(key) is asyncio.current_task()
            if current:
                del self._loading[key]
        if current and keep(value):
            if len(self._values) >= self.size:
                self._values.clear()
            self._values[key] = (value, self.clock() + self.ttl)
        elif current:
            self._values.pop(key, None)  # no stale value outlives a load that refused it
        return value


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
