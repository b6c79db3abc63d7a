"""Run-list pages cached for a few seconds and dropped as soon as a run changes."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from jobwerk.core.cache import ExpiringCache
from jobwerk.core.events import EventBus, Subscription

V = TypeVar("V")
# Events after which a run list may read differently.
# Not progress: a running run's progress in a list may be up to twice ``ttl`` old.
RUN_KINDS = frozenset({"run.status", "step.status", "run.deleted"})


class RunPages(ExpiringCache[bytes]):
    """Run-list pages as JSON bytes, keyed by their filter.

    Every page is dropped as soon as a run changes in this process (the event bus says so);
    ``ttl`` bounds how late a change made elsewhere (the CLI, another node) or not yet flushed
    by a running run shows.
    """

    def __init__(self, bus: EventBus, ttl: float, size: int = 256) -> None:
        super().__init__(ttl, size)
        self.bus = bus
        self._changes = self._subscribe()

    def _subscribe(self) -> Subscription:
        # One waiting event is enough to know that something changed.
        return self.bus.subscribe(maxsize=1, accept=lambda event: event.kind in RUN_KINDS)

    def _refresh(self) -> None:
        try:
            self._changes.get_nowait()
        except asyncio.QueueEmpty:
            return
        self._changes.close()
        self._changes = self._subscribe()
        self.clear()
