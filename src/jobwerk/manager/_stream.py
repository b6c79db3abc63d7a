"""``WS /ws/operations``: operation changes pushed as they happen (seed 004 message types)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from sqlalchemy import select

from jobwerk.api.ws import CLOSE_POLICY, GONE, ws_principal
from jobwerk.manager.models import ModuleOperation
from jobwerk.manager.operations import ACTIVE, operation_dict
from jobwerk.manager.service import ModuleManager

router = APIRouter(tags=["module manager"])
CLOSE_TOO_SLOW = 1013


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
    ``_completed`` / ``_failed`` / ``_cancelled``; authenticated like the other WebSockets."""
    if await ws_principal(websocket) is None:
        await websocket.close(CLOSE_POLICY)
        return
    await websocket.accept()
    manager: ModuleManager = websocket.app.state.manager
    feed = manager.feed
    queue = feed.subscribe()  # before reading the snapshot, so no change falls between
    receiver = asyncio.create_task(websocket.receive_text())
    try:
        async with manager.runtime.db.session() as session:
            active = await session.scalars(
                select(ModuleOperation).where(ModuleOperation.status.in_(ACTIVE))
            )
            snapshot = [operation_dict(operation) for operation in active]
        for current in snapshot:
            await websocket.send_text(_ws_message(current))
        while True:
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                break
            data = getter.result()
            if data is None:
                await websocket.close(CLOSE_TOO_SLOW)
                break
            await websocket.send_text(_ws_message(data))
    except GONE:
        pass  # the client went away
    finally:
        feed.unsubscribe(queue)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, *GONE):
            await receiver
