"""WebSocket endpoints: ``/ws/logs`` (seed 000) and ``/api/v1/jobs/{id}/stream`` (seed 003).

Both authenticate and end like every stream (see :mod:`jobwerk.sdk.stream`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, WebSocket

from jobwerk.api import _views
from jobwerk.api._hub import ENDPOINT as LOGS
from jobwerk.api._hub import JobsHub
from jobwerk.core import run_service
from jobwerk.core.events import Event
from jobwerk.core.states import FINISHED, SUCCEEDED
from jobwerk.errors import AppError
from jobwerk.sdk.deps import get_runtime
from jobwerk.sdk.stream import CLOSE_POLICY, Stream, serve_stream

router = APIRouter(tags=["live"])
STREAM = "/api/v1/jobs/{run_id}/stream"


@router.websocket(LOGS)
async def jobs_updates(websocket: WebSocket) -> None:
    """Seed 000's live feed: ``jobs_update`` on every job state change, ``log`` lines and a
    ``heartbeat`` when idle."""
    hub: JobsHub = websocket.app.state.hub
    await serve_stream(websocket, LOGS, hub.serve)


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


def _render(run_id: str) -> Callable[[Event], str | None]:
    def render(event: Event) -> str | None:
        if event.run_id != run_id:
            return None  # another run whose id starts with the prefix the client gave
        mapped = stream_message(event)
        return None if mapped is None else _send_text(mapped[0], run_id, mapped[1])

    return render


def _finished(run_id: str) -> Callable[[Event], bool]:
    return lambda event: (
        event.run_id == run_id
        and event.kind == "run.status"
        and event.data.get("status") in FINISHED
    )


async def _follow(stream: Stream, run_id: str) -> None:
    """The current state, the run's events until it finishes, then its final state."""
    runtime = get_runtime(stream.websocket)
    # Subscribe before reading the state, so no change between the two is lost. The id may be
    # a unique prefix; the events of the run it resolves to are picked out by the renderer.
    subscription = runtime.bus.subscribe(
        maxsize=runtime.settings.api.ws_client_queue,
        accept=lambda e: e.run_id is not None and e.run_id.startswith(run_id),
    )
    with contextlib.closing(subscription):
        try:
            detail = await _current(stream.websocket, run_id)
        except AppError as exc:  # unknown, or an ambiguous prefix
            await stream.send(_send_text("error", run_id, {"detail": exc.message}))
            await stream.close(CLOSE_POLICY)
            return
        run_id = detail["id"]  # the whole id, also when the client gave a unique prefix
        await stream.send(_send_text("status", run_id, {"scope": "run", **detail}))
        if detail["status"] not in FINISHED:
            # The database is read around this wait, never inside it (see Stream.until_left).
            await stream.until_left(
                stream.forward(subscription, _render(run_id), until=_finished(run_id))
            )
            detail = await _current(stream.websocket, run_id)
    kind = "complete" if detail["status"] in SUCCEEDED else "error"
    await stream.send(_send_text(kind, run_id, detail))
    await stream.close()


@router.websocket(STREAM)
async def stream_run(websocket: WebSocket, run_id: str) -> None:
    """Seed 003's run stream: the current state first, then ``progress``, ``log`` and
    ``status`` messages, finally ``complete`` or ``error``; then the server closes."""
    await serve_stream(websocket, STREAM, lambda stream: _follow(stream, run_id))
