"""WebSocket endpoints: ``/ws/logs`` (seed 000) and ``/api/v1/jobs/{id}/stream`` (seed 003).

Clients authenticate like HTTP clients: a session cookie (same origin only), ``X-API-Key`` /
``Authorization: Bearer`` or ``?api_key=``. Without valid credentials the handshake is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from jobwerk.api import _views
from jobwerk.api._hub import CLOSE_TOO_SLOW, JobsHub, receive_until_closed
from jobwerk.api.metrics import Metrics
from jobwerk.core import run_service
from jobwerk.core.auth import Principal
from jobwerk.core.events import Event, Subscription
from jobwerk.core.states import FINISHED, SUCCEEDED
from jobwerk.errors import AppError
from jobwerk.sdk.deps import authenticate, get_runtime, same_origin

log = structlog.get_logger("jobwerk.ws")
router = APIRouter(tags=["live"])
# What a send raises once the client has gone.
GONE = (WebSocketDisconnect, RuntimeError, OSError)
CLOSE_POLICY = 1008
STREAM = "/api/v1/jobs/{run_id}/stream"
# A client that takes longer than this to accept one message has stopped reading.
SEND_TIMEOUT_SECONDS = 10.0


async def ws_principal(websocket: WebSocket) -> Principal | None:
    """The authenticated caller of a WebSocket, or None (then refuse the handshake)."""
    try:
        principal = await authenticate(websocket, allow_query_key=True)
    except HTTPException:
        return None
    if principal is not None and principal.kind == "user" and not same_origin(websocket):
        return None
    return principal


@router.websocket("/ws/logs")
async def jobs_updates(websocket: WebSocket) -> None:
    """Seed 000's live feed: ``jobs_update`` on every job state change, ``log`` lines and a
    ``heartbeat`` when idle."""
    if await ws_principal(websocket) is None:
        await websocket.close(CLOSE_POLICY)
        return
    await websocket.accept()
    hub: JobsHub = websocket.app.state.hub
    await hub.serve(websocket)


def _send_text(kind: str, run_id: str, data: dict[str, Any]) -> str:
    # Seed 003 calls the run a job: in this stream ``job_id`` is the run's id, as in the path;
    # the configured job the run belongs to, if any, is ``job``.
    data = {**data, "run_id": run_id, "job_id": run_id, "job": data.get("job_id")}
    return json.dumps(
        {"type": kind, "run_id": run_id, "data": data, "timestamp": time.time()}, default=str
    )


def stream_message(event: Event) -> tuple[str, dict[str, Any]] | None:
    """Map a bus event onto seed 003's message types (``None`` for events it does not show)."""
    data = {"job_id": event.job_id, **event.data}
    if event.kind == "step.progress":
        data["current_page"] = event.data.get("done")
        data["total_pages"] = event.data.get("total")
        data["percent_complete"] = event.data.get("run_progress")
        data["current_operation"] = event.data.get("message") or event.data.get("step")
        return "progress", data
    if event.kind == "log":
        return "log", data
    if event.kind == "step.status":
        return "status", {"scope": "step", **data}
    if event.kind == "run.status":
        return "status", {"scope": "run", **data}
    return None


async def _current(websocket: WebSocket, run_id: str) -> dict[str, Any]:
    """The run as the stream shows it. Raises NotFound, or InvalidInput for an ambiguous
    prefix."""
    runtime = get_runtime(websocket)
    async with runtime.db.session() as session:
        run = await run_service.get_run(session, run_id, with_steps=True)
        return _views.run_detail(run, runtime.workflows).model_dump(mode="json")


class _TooSlow(Exception):
    """The client stopped reading, or fell so far behind that the bus dropped it."""


class _ClientLeft(Exception):
    """The client closed the stream before the run finished."""


async def _send(websocket: WebSocket, kind: str, run_id: str, data: dict[str, Any]) -> None:
    try:
        text = _send_text(kind, run_id, data)
        await asyncio.wait_for(websocket.send_text(text), SEND_TIMEOUT_SECONDS)
    except TimeoutError:
        raise _TooSlow from None


async def _forward(websocket: WebSocket, run_id: str, subscription: Subscription) -> None:
    """Send the run's events until its final status arrives. Raises _TooSlow."""
    async for event in subscription:
        if event.run_id != run_id:
            continue  # another run whose id starts with the prefix the client gave
        if event.kind == "run.status" and event.data.get("status") in FINISHED:
            return
        mapped = stream_message(event)
        if mapped is not None:
            kind, data = mapped
            await _send(websocket, kind, run_id, data)
    raise _TooSlow


async def _until_finished(websocket: WebSocket, run_id: str, subscription: Subscription) -> None:
    """Forward events while watching for the client leaving (then raises _ClientLeft).

    These two tasks only wait on the bus and the socket; the database is read by the caller.
    Cancelled inside a session, a task would break its connection's return to the pool.
    """
    forwarder = asyncio.create_task(_forward(websocket, run_id, subscription))
    receiver = asyncio.create_task(receive_until_closed(websocket))
    try:
        await asyncio.wait({forwarder, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (forwarder, receiver):
            task.cancel()
        await asyncio.gather(forwarder, receiver, return_exceptions=True)
    if not forwarder.cancelled():
        forwarder.result()
        return
    raise _ClientLeft


async def _follow(websocket: WebSocket, run_id: str, subscription: Subscription) -> None:
    """The current state, the run's events until it finishes, then its final state."""
    try:
        detail = await _current(websocket, run_id)
    except AppError as exc:  # unknown, or an ambiguous prefix
        await _send(websocket, "error", run_id, {"detail": exc.message})
        await websocket.close(CLOSE_POLICY)
        return
    run_id = detail["id"]  # the whole id, also when the client gave a unique prefix
    await _send(websocket, "status", run_id, {"scope": "run", **detail})
    if detail["status"] not in FINISHED:
        await _until_finished(websocket, run_id, subscription)
        detail = await _current(websocket, run_id)
    kind = "complete" if detail["status"] in SUCCEEDED else "error"
    await _send(websocket, kind, run_id, detail)
    await websocket.close()


@router.websocket(STREAM)
async def stream_run(websocket: WebSocket, run_id: str) -> None:
    """Seed 003's run stream: the current state first, then ``progress``, ``log`` and
    ``status`` messages, finally ``complete`` or ``error``; then the server closes."""
    if await ws_principal(websocket) is None:
        await websocket.close(CLOSE_POLICY)
        return
    await websocket.accept()
    runtime = get_runtime(websocket)
    metrics: Metrics = websocket.app.state.metrics
    # Subscribe before reading the state, so no change between the two is lost. The id may be
    # a unique prefix; events of the run it resolves to are picked out in _forward.
    subscription = runtime.bus.subscribe(
        maxsize=runtime.settings.api.ws_client_queue,
        accept=lambda e: e.run_id is not None and e.run_id.startswith(run_id),
    )
    metrics.ws_opened(STREAM)
    try:
        await _follow(websocket, run_id, subscription)
    except (_ClientLeft, *GONE):
        log.debug("run stream closed by the client", run_id=run_id)
    except _TooSlow:
        log.warning("dropping a slow WebSocket client", endpoint=STREAM, run_id=run_id)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(CLOSE_TOO_SLOW), 1.0)
    except Exception as exc:
        log.warning("run stream failed", run_id=run_id, error=repr(exc))
    finally:
        subscription.close()
        metrics.ws_closed(STREAM)
