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
from starlette.websockets import WebSocket, WebSocketDisconnect

from jobwerk.api import _views
from jobwerk.api.metrics import Metrics
from jobwerk.core.events import Event, Subscription
from jobwerk.core.runtime import Runtime

log = structlog.get_logger("jobwerk.ws")
# A deleted run may have been its job's last one.
STATE_KINDS = frozenset({"run.status", "run.deleted", "job.changed"})
ENDPOINT = "/ws/logs"
CLOSE_TOO_SLOW = 1013


def message(kind: str, data: Any, **extra: Any) -> str:
    return json.dumps({"type": kind, "data": data, "timestamp": time.time(), **extra}, default=str)


class Client:
    """One connected WebSocket with its bounded outbox."""

    def __init__(self, websocket: WebSocket, maxsize: int) -> None:
        self.websocket = websocket
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize)
        self.dropped = False
        self.gone = asyncio.Event()

    def offer(self, text: str) -> bool:
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            self.gone.set()
            return False
        return True

    def stop(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(None)


class JobsHub:
    """Pushes seed 000's ``jobs_update`` messages, log lines and heartbeats to clients."""

    def __init__(self, runtime: Runtime, metrics: Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics
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
                self._drop(client)

    def _drop(self, client: Client) -> None:
        self.clients.discard(client)
        log.warning("dropping a slow WebSocket client", endpoint=ENDPOINT)

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

    async def serve(self, websocket: WebSocket) -> None:
        """Run one accepted client until it leaves or is dropped."""
        client = Client(websocket, self.queue_size)
        client.offer(await self.snapshot())
        self.clients.add(client)
        self.metrics.ws_opened(ENDPOINT)
        sender = asyncio.create_task(self._send(client))
        receiver = asyncio.create_task(receive_until_closed(websocket))
        dropped = asyncio.create_task(client.gone.wait())
        tasks = (sender, receiver, dropped)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.clients.discard(client)
            self.metrics.ws_closed(ENDPOINT)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if client.dropped:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(websocket.close(CLOSE_TOO_SLOW), 1.0)

    @staticmethod
    async def _send(client: Client) -> None:
        while not client.dropped:
            text = await client.outbox.get()
            if text is None:
                await client.websocket.close()
                return
            await client.websocket.send_text(text)


async def receive_until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
