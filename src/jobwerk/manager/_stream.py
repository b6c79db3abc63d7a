"""``WS /ws/operations``: operation changes pushed as they happen (seed 004 message types)."""

from __future__ import annotations

import contextlib
import json
import time

from fastapi import APIRouter, WebSocket
from sqlalchemy import select

from jobwerk.core.events import Event
from jobwerk.core.runtime import Runtime
from jobwerk.manager.models import ModuleOperation
from jobwerk.manager.operations import ACTIVE, operation_dict, operation_event
from jobwerk.sdk.stream import Stream, serve_stream

router = APIRouter(tags=["module manager"])
ENDPOINT = "/ws/operations"


def _render(event: Event) -> str:
    data = event.data
    kind = {
        "completed": "operation_completed",
        "failed": "operation_failed",
        "cancelled": "operation_cancelled",
    }.get(data["status"], "operation_update")
    fields = ("operation_id", "status", "progress", "message", "module_name", "instance_id")
    return json.dumps(
        {
            "type": kind,
            **{key: data[key] for key in fields},
            "operation_type": data["operation_type"],
            "error": data["error"],
            "timestamp": time.time(),
        }
    )


@router.websocket(ENDPOINT)
async def operations_stream(websocket: WebSocket) -> None:
    """Operations in progress first, then every change as ``operation_update`` /
    ``_completed`` / ``_failed`` / ``_cancelled``, from whichever process on the database made it;
    authenticated like the other WebSockets."""
    runtime: Runtime = websocket.app.state.manager.runtime
    await serve_stream(websocket, ENDPOINT, lambda stream: _follow(stream, runtime))


async def _follow(stream: Stream, runtime: Runtime) -> None:
    # Subscribe before reading the snapshot, so no change falls between.
    subscription = runtime.bus.subscribe(
        maxsize=runtime.settings.api.ws_client_queue,
        accept=lambda event: event.kind == "operation.changed",
    )
    with contextlib.closing(subscription):
        async with runtime.db.session() as session:
            active = await session.scalars(
                select(ModuleOperation).where(ModuleOperation.status.in_(ACTIVE))
            )
            snapshot = [operation_event(operation_dict(operation)) for operation in active]
        for event in snapshot:
            await stream.send(_render(event))
        await stream.until_left(stream.forward(subscription, _render))
