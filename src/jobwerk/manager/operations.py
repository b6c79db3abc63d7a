"""Persisted operations: one active per module (a partial unique index), named steps with
progress, every change an ``operation.changed`` event (so ``/ws/operations`` shows the
operations of every process on the database), history kept."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core.events import Event
from jobwerk.core.runtime import Runtime
from jobwerk.errors import Conflict, NotFound
from jobwerk.manager.models import ModuleOperation
from jobwerk.storage.models import utcnow

# The caller's ``Idempotency-Key`` for the operation being created (set by the router).
IDEMPOTENCY_KEY: ContextVar[str | None] = ContextVar("idempotency_key", default=None)


class OperationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (OperationStatus.QUEUED, OperationStatus.RUNNING)
FINISHED = (OperationStatus.COMPLETED, OperationStatus.FAILED, OperationStatus.CANCELLED)
# The allowed transitions, as for runs: target state -> the states an operation may come from.
ALLOWED: dict[OperationStatus, frozenset[OperationStatus]] = {
    OperationStatus.QUEUED: frozenset(),
    OperationStatus.RUNNING: frozenset({OperationStatus.QUEUED}),
    OperationStatus.COMPLETED: frozenset({OperationStatus.RUNNING}),
    OperationStatus.FAILED: frozenset(ACTIVE),
    OperationStatus.CANCELLED: frozenset(ACTIVE),
}


class InvalidTransition(Conflict):
    """The operation is not in a state the requested change may start from."""


def operation_dict(operation: ModuleOperation) -> dict[str, Any]:
    """The operation as seed 004 shows it (plus steps, rollback and restart flags)."""
    return {
        "operation_id": operation.id,
        "operation_type": operation.type,
        "status": operation.status,
        "progress": operation.progress,
        "message": operation.message,
        "module_name": operation.module,
        "instance_id": operation.instance_id,
        "status_url": f"/modules/status/{operation.id}",
        "steps": operation.steps,
        "error": operation.error,
        "rolled_back": operation.rolled_back,
        "restart_required": operation.restart_required,
        "requested_by": operation.requested_by,
        "created_at": operation.created_at,
        "started_at": operation.started_at,
        "updated_at": operation.updated_at,
        "completed_at": operation.finished_at,
        "prompts": [],
    }


async def get_operation(session: AsyncSession, operation_id: str) -> ModuleOperation:
    operation = await session.get(ModuleOperation, operation_id)
    if operation is None:
        raise NotFound(f"Operation '{operation_id}' not found")
    return operation


async def list_operations(
    session: AsyncSession, module: str | None = None, limit: int = 100
) -> list[ModuleOperation]:
    statement = select(ModuleOperation).order_by(ModuleOperation.created_at.desc()).limit(limit)
    if module:
        statement = statement.where(ModuleOperation.module == module)
    return list(await session.scalars(statement))


async def operation_by_key(session: AsyncSession, key: str) -> ModuleOperation | None:
    result: ModuleOperation | None = await session.scalar(
        select(ModuleOperation).where(ModuleOperation.idempotency_key == key)
    )
    return result


async def active_operation(session: AsyncSession, module: str) -> ModuleOperation | None:
    result: ModuleOperation | None = await session.scalar(
        select(ModuleOperation).where(
            ModuleOperation.module == module, ModuleOperation.status.in_(ACTIVE)
        )
    )
    return result


def _busy(module: str, blocking: str | None) -> Conflict:
    return Conflict(
        f"Conflict - module '{module}' has an operation in progress ({blocking})",
        operation_id=blocking,
    )


# What an ``operation.changed`` event carries: what /ws/operations sends, JSON as it is.
EVENT_FIELDS = (
    "operation_id",
    "operation_type",
    "status",
    "progress",
    "message",
    "module_name",
    "instance_id",
    "error",
)


def operation_event(data: dict[str, Any]) -> Event:
    return Event("operation.changed", data={key: data[key] for key in EVENT_FIELDS})


class Tracker:
    """Writes an operation's progress to the database and publishes the change."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def create(
        self,
        kind: str,
        module: str,
        steps: list[tuple[str, str]],
        *,
        instance_id: str | None = None,
        request: dict[str, Any] | None = None,
        requested_by: str | None = None,
        message: str = "",
    ) -> dict[str, Any]:
        """Insert a queued operation; 409 while the module has an active one."""
        try:
            async with self.runtime.transaction() as session:
                blocking = await active_operation(session, module)
                if blocking is not None:
                    raise _busy(module, blocking.id)
                operation = ModuleOperation(
                    type=kind,
                    module=module,
                    instance_id=instance_id,
                    status="queued",
                    progress=0,
                    message=message or f"{kind.replace('_', ' ').capitalize()} queued",
                    steps=[
                        {"id": step, "title": title, "status": "pending"} for step, title in steps
                    ],
                    request=request or {},
                    requested_by=requested_by,
                    idempotency_key=IDEMPOTENCY_KEY.get(),
                )
                session.add(operation)
                await session.flush()
                data = operation_dict(operation)
        except IntegrityError:
            async with self.runtime.db.session() as session:
                blocking = await active_operation(session, module)
            raise _busy(module, blocking.id if blocking else None) from None
        self.runtime.bus.publish(operation_event(data))
        return data

    async def change(
        self,
        operation_id: str,
        *,
        step: str | None = None,
        step_status: str | None = None,
        step_error: str | None = None,
        **values: Any,
    ) -> dict[str, Any]:
        async with self.runtime.transaction() as session:
            operation = await get_operation(session, operation_id)
            if "status" in values:
                _check_transition(operation, OperationStatus(values["status"]))
            now = utcnow()
            if step is not None and step_status is not None:
                operation.steps = [
                    _step_change(entry, step_status, step_error, now)
                    if entry["id"] == step
                    else entry
                    for entry in operation.steps
                ]
            for key, value in values.items():
                setattr(operation, key, value)
            if values.get("status") == "running" and operation.started_at is None:
                operation.started_at = now
            if values.get("status") in FINISHED:
                operation.finished_at = now
            operation.updated_at = now
            await session.flush()
            data = operation_dict(operation)
        self.runtime.bus.publish(operation_event(data))
        return data

    async def interrupt_all(self) -> int:
        """Mark operations a dead process left active as failed (called at start)."""
        async with self.runtime.transaction() as session:
            result = await session.execute(
                update(ModuleOperation)
                .where(ModuleOperation.status.in_(ACTIVE))
                .values(
                    status="failed",
                    error="interrupted: the server stopped during the operation",
                    message="Interrupted",
                    finished_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)


def _check_transition(operation: ModuleOperation, target: OperationStatus) -> None:
    """Raises InvalidTransition unless the table lets the operation move to ``target`` (a
    finished operation never moves again, e.g. one a restart marked interrupted)."""
    if operation.status not in ALLOWED[target]:
        raise InvalidTransition(
            f"operation '{operation.id}' is {operation.status}; it cannot become {target}"
        )


def _step_change(
    entry: dict[str, Any], status: str, error: str | None, now: datetime
) -> dict[str, Any]:
    changed = {**entry, "status": status}
    stamp = now.astimezone(UTC).isoformat()
    if status == "running":
        changed["started_at"] = stamp
    else:
        changed["finished_at"] = stamp
    if error:
        changed["error"] = error
    return changed
