"""Live events across processes, so that a run executed by one jobwerk process (another worker,
another node, ``jobwerk jobs run --wait``) shows in every other's WebSockets and caches.

PostgreSQL carries them with LISTEN/NOTIFY; processes sharing a SQLite file on one machine send
them to each other as Unix datagrams. Delivery is best effort, like the in-process bus: a
process that cannot keep up misses events rather than slowing the one that published them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import tempfile
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import psycopg
import structlog
from sqlalchemy.engine import make_url

from jobwerk.core.events import Event, EventBus

log = structlog.get_logger("jobwerk.relay")
CHANNEL = "jobwerk_events"
NOTIFY_LIMIT = 7_900  # PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more
DATAGRAM_LIMIT = 60_000
RECONNECT_SECONDS = 2.0
FLUSH_SECONDS = 2.0


def encode(origin: str, event: Event, limit: int) -> bytes:
    """The event as JSON of at most ``limit`` bytes: values that do not fit are left out and
    named in ``data["trimmed"]``."""
    payload = {"origin": origin, **event.to_dict()}
    raw = _dumps(payload)
    if len(raw) > limit:
        small = {
            key: value
            for key, value in event.data.items()
            if isinstance(value, str | int | float | bool | None) and len(str(value)) <= 200
        }
        payload["data"] = {**small, "trimmed": sorted(set(event.data) - set(small))}
        raw = _dumps(payload)
    if len(raw) > limit:
        payload["data"] = {"trimmed": sorted(event.data)}
        raw = _dumps(payload)
    return raw


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, default=str, separators=(",", ":")).encode()


def decode(raw: bytes | str) -> tuple[str, Event]:
    """The sender's origin and the event. Raises ValueError for anything else."""
    try:
        payload: dict[str, Any] = json.loads(raw)
        event = Event(
            kind=payload["kind"],
            run_id=payload["run_id"],
            job_id=payload["job_id"],
            data=dict(payload["data"]),
            at=float(payload["at"]),
            relayed=True,
        )
        return str(payload["origin"]), event
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a relayed event: {exc}") from None


class Relay(ABC):
    """Hands every event published on ``bus`` to the other processes and delivers theirs."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.origin = uuid.uuid4().hex

    async def start(self) -> None:
        self.bus.relay = self.send

    async def stop(self) -> None:
        if self.bus.relay == self.send:
            self.bus.relay = None

    @abstractmethod
    def send(self, event: Event) -> None:
        """Pass an event of this process on, without waiting."""

    def receive(self, raw: bytes | str) -> None:
        try:
            origin, event = decode(raw)
        except ValueError as exc:
            log.warning("ignored a malformed relayed event", error=str(exc))
            return
        if origin != self.origin:
            self.bus.deliver(event)


class PostgresRelay(Relay):
    """Events through PostgreSQL's LISTEN/NOTIFY on a connection of its own for each way."""

    def __init__(self, bus: EventBus, url: str) -> None:
        super().__init__(bus)
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=10_000)
        self._listening = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._notify())]
        # Events published from here on reach the other processes, and theirs reach this one.
        await asyncio.wait_for(self._listening.wait(), 30)
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        with contextlib.suppress(TimeoutError):  # what was published last still goes out
            await asyncio.wait_for(self._outbox.join(), FLUSH_SECONDS)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def send(self, event: Event) -> None:
        try:
            self._outbox.put_nowait(encode(self.origin, event, NOTIFY_LIMIT))
        except asyncio.QueueFull:
            log.warning("event relay is behind; an event stays in this process", kind=event.kind)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)

    async def _listen(self) -> None:
        while True:
            try:
                async with await self._connect() as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    async for notice in connection.notifies():
                        self.receive(notice.payload)
            except (psycopg.Error, OSError) as exc:
                log.warning("event relay lost PostgreSQL; reconnecting", error=str(exc))
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _notify(self) -> None:
        while True:
            try:
                async with await self._connect() as connection:
                    while True:
                        batch = [await self._outbox.get()]
                        while not self._outbox.empty() and len(batch) < 100:
                            batch.append(self._outbox.get_nowait())
                        async with connection.cursor() as cursor:
                            await cursor.executemany(
                                "SELECT pg_notify(%s, %s)",
                                [(CHANNEL, payload.decode()) for payload in batch],
                            )
                        for _ in batch:
                            self._outbox.task_done()
            except (psycopg.Error, OSError) as exc:
                log.warning("event relay could not notify; reconnecting", error=str(exc))
                await asyncio.sleep(RECONNECT_SECONDS)


class UnixRelay(Relay):
    """Events as datagrams between the processes of one machine that share a SQLite file.

    Each process binds a socket in a folder named after the database file; an event goes to
    every other socket there. A socket whose process has died is removed by the first sender.
    """

    def __init__(self, bus: EventBus, database: Path) -> None:
        super().__init__(bus)
        digest = hashlib.sha256(str(database.resolve()).encode()).hexdigest()[:16]
        # Under the temporary folder: socket paths must stay short (about 100 bytes).
        self.folder = Path(tempfile.gettempdir()) / f"jobwerk-events-{digest}"
        self.path = self.folder / f"{self.origin[:16]}.sock"
        self._socket: socket.socket | None = None

    async def start(self) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(str(self.path))
        self._socket = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        if self._socket is not None:
            asyncio.get_running_loop().remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = None
        self.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.folder.rmdir()  # the last process out

    def _readable(self) -> None:
        assert self._socket is not None
        while True:
            try:
                raw = self._socket.recv(DATAGRAM_LIMIT + 1)
            except BlockingIOError:
                return
            self.receive(raw)

    def peers(self) -> list[str]:
        """The sockets of the other processes, read afresh: one that started a moment ago
        must not miss the next event."""
        mine = self.path.name
        return [str(self.folder / name) for name in os.listdir(self.folder) if name != mine]

    def send(self, event: Event) -> None:
        if self._socket is None:
            return
        payload = encode(self.origin, event, DATAGRAM_LIMIT)
        for peer in self.peers():
            try:
                self._socket.sendto(payload, peer)
            except BlockingIOError:
                pass  # that process is too busy to read: it misses this event
            except (ConnectionRefusedError, FileNotFoundError):
                Path(peer).unlink(missing_ok=True)  # its process is gone


def relay_for(bus: EventBus, url: str) -> Relay | None:
    """The relay for a database URL, or None where no other process can share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return PostgresRelay(bus, url)
    if parsed.database in (None, "", ":memory:") or not hasattr(socket, "AF_UNIX"):
        return None
    return UnixRelay(bus, Path(parsed.database))
