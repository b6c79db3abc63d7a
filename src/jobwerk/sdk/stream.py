"""One shape for every WebSocket stream: authenticate, accept, send with a deadline, watch the
client, and end cleanly — a client that left is quiet, a slow one is closed with 1013.

Clients authenticate like HTTP clients: a session cookie (same origin only), ``X-API-Key`` /
``Authorization: Bearer`` or ``?api_key=``. Without valid credentials the handshake is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

import structlog
from fastapi import HTTPException
from starlette.websockets import WebSocket, WebSocketDisconnect

from jobwerk.core.auth import Principal
from jobwerk.core.events import Event, Subscription
from jobwerk.sdk.deps import authenticate, same_origin

__all__ = [
    "CLOSE_POLICY",
    "CLOSE_TOO_SLOW",
    "ClientLeft",
    "Stream",
    "TooSlow",
    "serve_stream",
    "ws_principal",
]

T = TypeVar("T")
log = structlog.get_logger("jobwerk.ws")
CLOSE_POLICY = 1008
CLOSE_TOO_SLOW = 1013
# What a send raises once the client has gone.
GONE = (WebSocketDisconnect, RuntimeError, OSError)
# A client that takes longer than this to accept one message has stopped reading.
SEND_TIMEOUT_SECONDS = 10.0


class TooSlow(Exception):
    """The client stopped reading, or fell so far behind that it was dropped."""


class ClientLeft(Exception):
    """The client closed the stream before the server was done."""


class _Gauge(Protocol):
    def ws_opened(self, endpoint: str) -> None: ...

    def ws_closed(self, endpoint: str) -> None: ...


async def ws_principal(websocket: WebSocket) -> Principal | None:
    """The authenticated caller of a WebSocket, or None (then refuse the handshake)."""
    try:
        principal = await authenticate(websocket, allow_query_key=True)
    except HTTPException:
        return None
    if principal is not None and principal.kind == "user" and not same_origin(websocket):
        return None
    return principal


class Stream:
    """One accepted WebSocket: sends with a deadline, and work that stops when the client leaves."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send(self, text: str) -> None:
        """Send one message. Raises TooSlow when the client does not take it in time."""
        try:
            await asyncio.wait_for(self.websocket.send_text(text), SEND_TIMEOUT_SECONDS)
        except TimeoutError:
            raise TooSlow from None

    async def forward(
        self,
        subscription: Subscription,
        render: Callable[[Event], str | None],
        until: Callable[[Event], bool] = lambda event: False,
    ) -> None:
        """Send each event ``render`` turns into text, until an event satisfies ``until``.

        Raises TooSlow when the bus dropped the subscription for falling behind.
        """
        async for event in subscription:
            if until(event):
                return
            text = render(event)
            if text is not None:
                await self.send(text)
        raise TooSlow

    async def until_left(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` while watching for the client leaving (then raises ClientLeft).

        Only wait on the bus and the socket in ``work``: cancelled inside a database session, a
        task would break its connection's return to the pool. Read the database around it.
        """
        worker = asyncio.create_task(work)
        receiver = asyncio.create_task(receive_until_closed(self.websocket))
        try:
            await asyncio.wait({worker, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (worker, receiver):
                task.cancel()
            await asyncio.gather(worker, receiver, return_exceptions=True)
        if worker.cancelled():
            raise ClientLeft
        return worker.result()

    async def close(self, code: int = 1000) -> None:
        await self.websocket.close(code)


async def serve_stream(
    websocket: WebSocket, endpoint: str, handler: Callable[[Stream], Awaitable[None]]
) -> None:
    """Authenticate (refusing the handshake without credentials), accept, run ``handler``.

    A client that left ends the stream quietly; a slow one is logged and closed with 1013; any
    other failure is logged without its locals. The open streams are counted per endpoint.
    """
    if await ws_principal(websocket) is None:
        await websocket.close(CLOSE_POLICY)
        return
    await websocket.accept()
    gauge: _Gauge | None = getattr(websocket.app.state, "metrics", None)
    if gauge is not None:
        gauge.ws_opened(endpoint)
    try:
        await handler(Stream(websocket))
    except (ClientLeft, *GONE):
        log.debug("stream closed by the client", endpoint=endpoint)
    except TooSlow:
        log.warning("dropping a slow WebSocket client", endpoint=endpoint)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(CLOSE_TOO_SLOW), 1.0)
    except Exception as exc:
        log.warning("stream failed", endpoint=endpoint, error=repr(exc))
    finally:
        if gauge is not None:
            gauge.ws_closed(endpoint)


async def receive_until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
