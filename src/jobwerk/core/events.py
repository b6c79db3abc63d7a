"""In-process event bus: typed run, step, log, job and module-operation events for live updates
(the relay carries them to the other processes on the same database).

Publishing never blocks: every subscriber has a bounded queue, and a subscriber whose queue is
full is dropped (its iterator ends) instead of slowing the run that published.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EventKind = Literal[
    "run.status",
    "run.deleted",
    "step.status",
    "step.progress",
    "log",
    "job.changed",
    "operation.changed",
]


@dataclass(frozen=True)
class Event:
    """Something changed; ``data`` holds the new values."""

    kind: EventKind
    run_id: str | None = None
    job_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)
    relayed: bool = False  # published by another process

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_status(run_id: str, job_id: str | None, **data: Any) -> Event:
    return Event("run.status", run_id, job_id, data)


def run_deleted(run_id: str, job_id: str | None) -> Event:
    return Event("run.deleted", run_id, job_id)


def step_status(run_id: str, job_id: str | None, **data: Any) -> Event:
    return Event("step.status", run_id, job_id, data)


def step_progress(run_id: str, job_id: str | None, **data: Any) -> Event:
    return Event("step.progress", run_id, job_id, data)


def log_line(run_id: str, job_id: str | None, **data: Any) -> Event:
    return Event("log", run_id, job_id, data)


def job_changed(job_id: str, **data: Any) -> Event:
    return Event("job.changed", None, job_id, data)


class Subscription:
    """An async iterator of events; ends when closed or dropped for being too slow."""

    def __init__(self, bus: EventBus, maxsize: int, accept: Callable[[Event], bool]) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self.accept = accept
        self.dropped = False

    def _offer(self, event: Event) -> bool:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            return False
        return True

    def close(self) -> None:
        self._bus._remove(self)
        while True:
            try:
                self._queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()

    async def get(self) -> Event | None:
        """The next event, or None once the subscription is closed."""
        return await self._queue.get()

    def get_nowait(self) -> Event | None:
        """An event that is already waiting (None once closed).

        Raises:
            asyncio.QueueEmpty: when nothing is waiting.
        """
        return self._queue.get_nowait()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while (event := await self._queue.get()) is not None:
            yield event


class EventBus:
    """Fan-out of events to subscribers in this process, and through ``relay`` (when set) to
    the other processes on the same database."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self.relay: Callable[[Event], None] | None = None

    def subscribe(
        self, *, maxsize: int = 1000, accept: Callable[[Event], bool] = lambda _: True
    ) -> Subscription:
        subscription = Subscription(self, maxsize, accept)
        self._subscriptions.append(subscription)
        return subscription

    def publish(self, event: Event) -> None:
        """Deliver an event of this process here and hand it to the relay."""
        self.deliver(event)
        if self.relay is not None:
            self.relay(event)

    def deliver(self, event: Event) -> None:
        """Offer an event to this process's subscribers."""
        for subscription in list(self._subscriptions):
            if subscription.accept(event) and not subscription._offer(event):
                subscription.close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def _remove(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
