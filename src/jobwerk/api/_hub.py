"""Fan-out for ``/ws/logs``: one bus subscription feeds every connected client.

A job state change makes the hub build one ``jobs_update`` message (one database read however
many clients there are) and offer it to every client's bounded queue; log lines are forwarded as
they come; a heartbeat goes out when nothing else was sent for a while. A client whose queue is
full is dropped, so one slow or dead client never delays the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import structlog

from jobwerk.api import _views
from jobwerk.core.events import Event, Subscription
from jobwerk.core.runtime import Runtime
from jobwerk.sdk.stream import Stream, TooSlow

log = structlog.get_logger("jobwerk.ws")
# A deleted run may have been its job's last one.
STATE_KINDS = frozenset({"run.status", "run.deleted", "job.changed"})
ENDPOINT = "/ws/logs"


def message(kind: str, data: Any, **extra: Any) -> str:
    return json.dumps({"type": kind, "data": data, "timestamp": time.time(), **extra}, default=str)


class Client:
    """One connected stream with its bounded outbox."""

    def __init__(self, stream: Stream, maxsize: int) -> None:
        self.stream = stream
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize)
        self.dropped = False

    def offer(self, text: str) -> bool:
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            return False
        return True

    def stop(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(None)

    async def send_all(self) -> None:
        """Send what the hub offers until it stops. Raises TooSlow once dropped."""
        while not self.dropped:
            text = await self.outbox.get()
            if text is None:
                await self.stream.close()
                return
            await self.stream.send(text)
        raise TooSlow


class JobsHub:
    """Pushes seed 000's ``jobs_update`` messages, log lines and heartbeats to clients."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.heartbeat = runtime.settings.api.ws_heartbeat_seconds
        self.queue_size = runtime.settings.api.ws_client_queue
        self.clients: set[Client] = set()
        self._task: asyncio.Task[None] | None = None
        self._last_sent = time.monotonic()

    @property
    def client_count(self) -> int:
        return len(self.clients)

    def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name="jobwerk-ws-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in list(self.clients):
            client.stop()

    async def snapshot(self) -> str:
        async with self.runtime.db.session() as session:
            jobs = await _views.jobs_with_status(session)
        return message("jobs_update", [_views.jobs_update_entry(job) for job in jobs])

    def broadcast(self, text: str) -> None:
        self._last_sent = time.monotonic()
        for client in list(self.clients):
            if not client.offer(text):
                self.clients.discard(client)  # its stream ends with TooSlow

    async def _pump(self) -> None:
        while True:
            subscription = self.runtime.bus.subscribe(maxsize=10_000)
            try:
                await self._forward(subscription)
            except Exception:
                log.exception("WebSocket hub failed; restarting")
                await asyncio.sleep(1)
            finally:
                subscription.close()

    async def _forward(self, subscription: Subscription) -> None:
        while True:
            wait = max(0.0, self.heartbeat - (time.monotonic() - self._last_sent))
            try:
                event: Event | None = await asyncio.wait_for(subscription.get(), wait)
            except TimeoutError:
                if self.clients:
                    self.broadcast(message("heartbeat", {"clients": len(self.clients)}))
                else:
                    self._last_sent = time.monotonic()
                continue
            if event is None:
                return  # dropped by the bus: resubscribe
            changed = self._handle(event)
            # Coalesce what is already waiting into one snapshot.
            while True:
                try:
                    queued = subscription.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if queued is None:
                    return
                changed = self._handle(queued) or changed
            if changed and self.clients:
                self.broadcast(await self.snapshot())

    def _handle(self, event: Event) -> bool:
        if event.kind == "log" and self.clients:
            data = {"run_id": event.run_id, "job_id": event.job_id, **event.data}
            self.broadcast(message("log", data))
        return event.kind in STATE_KINDS

    async def serve(self, stream: Stream) -> None:
        """Feed one accepted client until it leaves, is dropped or the hub stops."""
        client = Client(stream, self.queue_size)
        client.offer(await self.snapshot())
        self.clients.add(client)
        try:
            await stream.until_left(client.send_all())
        finally:
            self.clients.discard(client)
