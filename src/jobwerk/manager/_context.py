"""A running operation as its steps see it: progress per named step, cancel requests and the
undo actions that put things back when a later step fails."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from jobwerk.errors import AppError
from jobwerk.manager.operations import Tracker

INSTALL_STEPS = [
    ("download", "Download the archive"),
    ("verify", "Verify SHA-256 and archive"),
    ("compatibility", "Check compatibility"),
    ("install", "Install the wheel and its dependencies"),
    ("check", "Import check and migrations"),
    ("activate", "Activate"),
]
UPDATE_STEPS = [*INSTALL_STEPS[:4], ("backup", "Back up the database"), *INSTALL_STEPS[4:]]


class Cancelled(Exception):
    """The operation was cancelled between two steps."""


Work = Callable[["Context"], Awaitable[str]]


class Context:
    """One running operation: steps with progress, and the undo actions gathered so far."""

    def __init__(self, tracker: Tracker, data: dict[str, Any]) -> None:
        self.tracker = tracker
        self.id: str = data["operation_id"]
        self.module: str = data["module_name"]
        self.instance_id: str | None = data["instance_id"]
        self.steps = [step["id"] for step in data["steps"]]
        self.undo: list[Callable[[], None]] = []
        self.restart_required = False
        self.cancel_requested = False
        self.switched = False

    @contextlib.asynccontextmanager
    async def step(self, name: str, message: str) -> Any:
        if self.cancel_requested and not self.switched:
            raise Cancelled("cancelled by request")
        index = self.steps.index(name)
        await self.tracker.change(
            self.id,
            step=name,
            step_status="running",
            message=message,
            progress=int(100 * index / len(self.steps)),
        )
        try:
            yield
        except Exception as exc:
            await self.tracker.change(
                self.id, step=name, step_status="failed", step_error=reason(exc)
            )
            raise
        await self.tracker.change(
            self.id,
            step=name,
            step_status="done",
            progress=int(100 * (index + 1) / len(self.steps)),
        )


def reason(exc: BaseException) -> str:
    return exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
