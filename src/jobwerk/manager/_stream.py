"""``WS /ws/operations``: operation changes pushed as they happen (seed 004 message types)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from sqlalchemy import select

from jobwerk.api._hub import CLOSE_TOO_SLOW, receive_until_closed
from jobwerk.api.ws import CLOSE_POLICY, GONE, ws_principal
from jobwerk.core.events import Event, Subscription
from jobwerk.core.runtime import Runtime
from jobwerk.manager.models import ModuleOperation
from jobwerk.manager.operations import ACTIVE, operation_dict, operation_event

router = APIRouter(tags=["module manager"])


def _ws_message(data: dict[str, Any]) -> str:
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


@router.websocket("/ws/operations")
async def operations_stream(websocket: WebSocket) -> None:
    """Operations in progress first, then every change as ``operation_update`` /
    ``_completed`` / ``_failed`` / ``_cancelled``, from whichever process on the database made it;
    authenticated like the other WebSockets."""
    if await ws_principal(websocket) is None:
        await websocket.close(CLOSE_POLICY)
        return
    await websocket.accept()
    runtime: Runtime = websocket.app.state.manager.runtime
    # Subscribe before reading the snapshot, so no change falls between. The snapshot is read
    # here, not in a task that a leaving client cancels in the middle of a session.
    subscription = runtime.bus.subscribe(
        maxsize=256, accept=lambda event: event.kind == "operation.changed"
    )
    async with runtime.db.session() as session:
        active = await session.scalars(
            select(ModuleOperation).where(ModuleOperation.status.in_(ACTIVE))
        )
        snapshot = [operation_event(operation_dict(operation)) for operation in active]
    forwarder = asyncio.create_task(_forward(websocket, snapshot, subscription))
    receiver = asyncio.create_task(receive_until_closed(websocket))
    try:
        await asyncio.wait({forwarder, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        subscription.close()
        for task in (forwarder, receiver):
            task.cancel()
        await asyncio.gather(forwarder, receiver, return_exceptions=True)


async def _forward(websocket: WebSocket, snapshot: list[Event], subscription: Subscription) -> None:
    with contextlib.suppress(*GONE):
        for event in snapshot:
            await websocket.send_text(_ws_message(event.data))
        async for event in subscription:
            await websocket.send_text(_ws_message(event.data))
        # The bus dropped this client for falling behind.
        await websocket.close(CLOSE_TOO_SLOW)
