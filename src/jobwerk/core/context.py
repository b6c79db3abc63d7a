"""What a step sees while it runs: parameters, instance, progress, logs, cancellation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from jobwerk.core import events
from jobwerk.core.secrets import SecretBox
from jobwerk.logging import mask_secrets, mask_text
from jobwerk.storage.db import Database
from jobwerk.storage.models import utcnow

P = TypeVar("P", bound=BaseModel)
T = TypeVar("T")
LogLevel = Literal["debug", "info", "warning", "error"]


def run_export_dir(data_dir: Path, run_id: str) -> Path:
    """The folder that holds the exports of a run."""
    return data_dir / "exports" / run_id


class Cancelled(Exception):
    """The run was asked to stop; raised by ``StepContext.check_cancelled``."""


@dataclass(frozen=True)
class InstanceConfig:
    """An instance as a step sees it: settings with secrets decrypted."""

    id: str
    module: str
    name: str
    settings: dict[str, Any]
    is_primary: bool


@dataclass
class StepState:
    """The live state of one step run, flushed to the database by the runner."""

    name: str
    position: int
    status: str = "pending"
    attempt: int = 0
    done: int = 0
    total: int | None = None
    counters: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    error: str | None = None
    output: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stored: bool = False

    @property
    def progress(self) -> float:
        if self.status in ("completed", "skipped"):
            return 100.0
        if self.total:
            return min(100.0, 100.0 * self.done / self.total)
        return 0.0


class RunReporter:
    """Collects a run's progress and log lines; the runner flushes them in batches."""

    def __init__(self, run_id: str, job_id: str | None, bus: events.EventBus) -> None:
        self.run_id = run_id
        self.job_id = job_id
        self.bus = bus
        self.steps: dict[str, StepState] = {}
        self.logs: list[dict[str, Any]] = []
        self.dirty: set[str] = set()
        self.cancel = asyncio.Event()
        self._last_progress_event = 0.0

    def log(self, step: str | None, level: LogLevel, message: str, data: dict[str, Any]) -> None:
        created_at = utcnow()
        # Run logs are read in the dashboard and over the API: no secret goes in.
        message, data = mask_text(message), mask_secrets(data)
        self.logs.append(
            {
                "step": step,
                "level": level,
                "message": message,
                "data": data or None,
                "created_at": created_at,
            }
        )
        self.bus.publish(
            events.log_line(
                self.run_id,
                self.job_id,
                step=step,
                level=level,
                message=message,
                data=data or None,
                timestamp=created_at.isoformat(),
            )
        )

    def progress_changed(self, state: StepState, overall: float) -> None:
        self.dirty.add(state.name)
        now = time.monotonic()
        if now - self._last_progress_event < 0.1 and state.done != state.total:
            return
        self._last_progress_event = now
        self.bus.publish(
            events.step_progress(
                self.run_id,
                self.job_id,
                step=state.name,
                progress=round(state.progress, 1),
                done=state.done,
                total=state.total,
                counters=dict(state.counters),
                message=state.message,
                run_progress=round(overall, 1),
            )
        )


class StepContext(Generic[P]):
    """Handed to every step function.

    Attributes:
        run_id: the run being executed.
        params: the validated parameters.
        instance: the module instance the run belongs to, if any.
        outputs: what earlier steps returned, by step name (also from a retried run).
        result: the run's result summary; steps add counts, warnings and exports.
        attempt: the attempt of this step, from 1.
        db: jobwerk's database, for the module's own tables (the same in ``serve``, ``worker``
            and ``jobs run --wait``: whichever process executes the run).
        data_dir: the data folder; the run's exports go to ``export_dir`` inside it.
        box: decrypts what the module stored encrypted (credentials, secrets).
        resources: what the module's ``resources`` hook made for this process (connection
            pools, clients, caches shared by its runs), or None.
    """

    def __init__(
        self,
        *,
        run_id: str,
        workflow: str,
        params: P,
        instance: InstanceConfig | None,
        outputs: dict[str, dict[str, Any]],
        result: dict[str, Any],
        state: StepState,
        reporter: RunReporter,
        overall: Callable[[], float],
        db: Database,
        data_dir: Path,
        box: SecretBox,
        resources: Any = None,
    ) -> None:
        self.run_id = run_id
        self.workflow = workflow
        self.params = params
        self.instance = instance
        self.outputs = outputs
        self.result = result
        self._state = state
        self._reporter = reporter
        self._overall = overall
        self.db = db
        self.data_dir = data_dir
        self.box = box
        self.resources = resources

    @property
    def step(self) -> str:
        return self._state.name

    @property
    def attempt(self) -> int:
        return self._state.attempt

    @property
    def cancelled(self) -> bool:
        return self._reporter.cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` if the run was asked to stop; call between units of work."""
        if self.cancelled:
            raise Cancelled("the run was cancelled")

    async def sleep(self, seconds: float) -> None:
        """Sleep, waking early (and raising ``Cancelled``) when the run is cancelled."""
        try:
            await asyncio.wait_for(self._reporter.cancel.wait(), timeout=seconds)
        except TimeoutError:
            return
        raise Cancelled("the run was cancelled")

    def log(self, message: str, level: LogLevel = "info", **data: Any) -> None:
        self._reporter.log(self.step, level, message, data)

    def info(self, message: str, **data: Any) -> None:
        self.log(message, "info", **data)

    def warning(self, message: str, **data: Any) -> None:
        """Log a warning and keep it in the run's result summary."""
        self.log(message, "warning", **data)
        self.result.setdefault("warnings", []).append(message)

    def error(self, message: str, **data: Any) -> None:
        self.log(message, "error", **data)

    def progress(
        self, done: int, total: int | None = None, *, message: str | None = None, **counters: Any
    ) -> None:
        """Report ``done`` of ``total`` units, an optional message and named counters."""
        state = self._state
        state.done = done
        if total is not None:
            state.total = total
        if message is not None:
            state.message = message
        state.counters.update(counters)
        self._reporter.progress_changed(state, self._overall())

    def count(self, name: str, increment: int = 1) -> None:
        """Add to a named counter of this step (and to the run's result counts)."""
        counters = self._state.counters
        counters[name] = counters.get(name, 0) + increment
        totals = self.result.setdefault("counts", {})
        totals[name] = totals.get(name, 0) + increment
        self._reporter.progress_changed(self._state, self._overall())

    @property
    def export_dir(self) -> Path:
        """This run's folder for exports (created on first use)."""
        path = run_export_dir(self.data_dir, self.run_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add_export(self, path: Path, *, content_type: str, title: str | None = None) -> None:
        """Record a file in ``export_dir`` as a downloadable export of the run."""
        self.result.setdefault("exports", []).append(
            {
                "name": path.name,
                "content_type": content_type,
                "size": path.stat().st_size,
                "title": title or path.name,
                "step": self.step,
            }
        )

    async def to_thread(self, func: Callable[..., T], /, *args: Any) -> T:
        """Run blocking work in a worker thread."""
        return await asyncio.to_thread(func, *args)
