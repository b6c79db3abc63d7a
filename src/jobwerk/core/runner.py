"""Executes one run: claims it, runs its steps in order and records what happened.

Progress, step states and log lines are buffered and written in small batches (at most every
``FLUSH_SECONDS`` and at every state change of the run), so a run of fast steps costs two
transactions, while a long step still shows live progress and a fresh heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import insert, select, update

from jobwerk.core import events
from jobwerk.core._records import write_steps
from jobwerk.core.context import Cancelled, InstanceConfig, RunReporter, StepContext, StepState
from jobwerk.core.resources import ProcessResources
from jobwerk.core.secrets import SecretBox
from jobwerk.core.states import SUCCEEDED, RunStatus, StepStatus, transition_run
from jobwerk.core.workflow import Retry, Step, Workflow, WorkflowRegistry
from jobwerk.errors import AppError
from jobwerk.logging import TRACE_FRAMES, mask_text
from jobwerk.storage.db import Database
from jobwerk.storage.models import LogEntry, Run, StepRun, utcnow

log = structlog.get_logger("jobwerk.runner")
# How a run ended: its final state, the reason and the error message.
Outcome = tuple[RunStatus, str | None, str | None]
FLUSH_SECONDS = 0.2
FINAL_WRITE_ATTEMPTS = 5


@dataclass
class RunEnvironment:
    """What the runner needs from the process it runs in."""

    db: Database
    workflows: WorkflowRegistry
    bus: events.EventBus
    data_dir: Path
    box: SecretBox
    worker: str
    heartbeat_seconds: float = 5.0
    cancel_grace_seconds: float = 5.0
    load_instance: Callable[[str], Awaitable[InstanceConfig | None]] | None = None
    resources: ProcessResources = field(default_factory=ProcessResources)


class StepFailed(Exception):
    def __init__(self, message: str, reason: str = "step_failed") -> None:
        super().__init__(message)
        self.reason = reason


class RunExecution:
    """One run being executed in this process."""

    def __init__(self, env: RunEnvironment, run_id: str) -> None:
        self.env = env
        self.run_id = run_id
        self.job_id: str | None = None
        self.reporter = RunReporter(run_id, None, env.bus)
        self.result: dict[str, Any] = {}
        self.current_step: str | None = None
        self._last_heartbeat = 0.0

    def request_cancel(self) -> None:
        self.reporter.cancel.set()

    async def execute(self) -> RunStatus | None:
        """Claim and run; returns the final state, or None when another worker claimed it."""
        claim = asyncio.ensure_future(self._claim())
        try:
            run = await asyncio.shield(claim)
        except asyncio.CancelledError:
            # Stopped while claiming: let the claim settle, and record an interruption if it won.
            if await claim is not None:
                await self._finish(RunStatus.FAILED, "interrupted", "the server stopped")
            raise
        if run is None:
            return None
        with structlog.contextvars.bound_contextvars(run_id=self.run_id, workflow=run.workflow):
            try:
                status, reason, error = await self._run_steps(run)
            except asyncio.CancelledError:
                await self._settle(RunStatus.FAILED, "interrupted", "the server stopped")
                raise
            except Exception as exc:
                log.exception("run failed outside its steps")
                status, reason, error = (
                    RunStatus.FAILED,
                    "engine_error",
                    f"{type(exc).__name__}: {exc}",
                )
            await self._settle(status, reason, error)
            return status

    async def _settle(self, status: RunStatus, reason: str | None, error: str | None) -> None:
        """Record the end even when the server stops meanwhile: no run is left running."""
        finish = asyncio.ensure_future(self._finish(status, reason, error))
        try:
            await asyncio.shield(finish)
        except asyncio.CancelledError:
            await finish
            raise

    async def _claim(self) -> Run | None:
        async with self.env.db.session() as session:
            claimed = await transition_run(
                session,
                self.run_id,
                RunStatus.RUNNING,
                worker=self.env.worker,
                heartbeat_at=utcnow(),
            )
            if not claimed:
                return None
            run = await session.get_one(Run, self.run_id)
        self.job_id = self.reporter.job_id = run.job_id
        self._publish_status(RunStatus.RUNNING, workflow=run.workflow)
        log.info("run started", trigger=run.trigger)
        return run

    async def _run_steps(self, run: Run) -> Outcome:
        try:
            workflow = self.env.workflows.get(run.workflow)
            params = workflow.validate_params(run.params)
        except AppError as exc:
            return RunStatus.FAILED, "invalid_run", exc.message
        instance = None
        if run.instance_id and self.env.load_instance is not None:
            instance = await self.env.load_instance(run.instance_id)
        states = {
            step.name: StepState(step.name, position)
            for position, step in enumerate(workflow.steps)
        }
        self.reporter.steps = states
        self.reporter.dirty.update(states)
        outputs = await self._resume_from(run, workflow, states)
        resources = await self.env.resources.get(workflow.module)
        stop_flushing = asyncio.Event()
        flusher = asyncio.create_task(self._flush_loop(stop_flushing))
        try:
            for step in workflow.steps:
                state = states[step.name]
                if state.status == StepStatus.SKIPPED:
                    continue
                if self.reporter.cancel.is_set():
                    return RunStatus.CANCELLED, "cancelled", None
                context: StepContext[Any] = StepContext(
                    run_id=self.run_id,
                    workflow=workflow.name,
                    params=params,
                    instance=instance,
                    outputs=outputs,
                    result=self.result,
                    state=state,
                    reporter=self.reporter,
                    overall=self._overall,
                    db=self.env.db,
                    data_dir=self.env.data_dir,
                    box=self.env.box,
                    resources=resources,
                )
                outcome = await self._run_step(step, state, context)
                if outcome is not None:
                    return outcome
                outputs[step.name] = state.output or {}
            if self.result.get("warnings"):
                return RunStatus.COMPLETED_WITH_WARNINGS, None, None
            return RunStatus.COMPLETED, None, None
        finally:
            stop_flushing.set()
            await flusher

    async def _resume_from(
        self, run: Run, workflow: Workflow[Any], states: dict[str, StepState]
    ) -> dict[str, dict[str, Any]]:
        """For a retry run, skip the resumable steps that completed in the retried run."""
        outputs: dict[str, dict[str, Any]] = {}
        if run.retry_of_run_id is None:
            return outputs
        async with self.env.db.session() as session:
            previous = (
                await session.scalars(
                    select(StepRun).where(
                        StepRun.run_id == run.retry_of_run_id,
                        StepRun.status.in_([StepStatus.COMPLETED, StepStatus.SKIPPED]),
                    )
                )
            ).all()
        done = {step.name: step for step in previous}
        for step in workflow.steps:
            if step.name in done and step.resumable:
                state = states[step.name]
                state.status = StepStatus.SKIPPED
                state.output = done[step.name].output
                state.message = f"completed in run {run.retry_of_run_id}"
                outputs[step.name] = state.output or {}
                self.reporter.dirty.add(step.name)
            else:
                break
        return outputs

    async def _run_step(
        self, step: Step, state: StepState, context: StepContext[Any]
    ) -> Outcome | None:
        """Run a step with its retries; returns the run's outcome if the step ended it."""
        self.current_step = step.name
        state.started_at = utcnow()
        attempts = step.retries + 1
        for attempt in range(1, attempts + 1):
            state.attempt = attempt
            self._set_step_status(state, StepStatus.RUNNING)
            try:
                output = await self._call(step, context)
            except Retry as retry:
                if attempt == attempts:
                    message = f"{retry.reason} (gave up after {attempts} attempts)"
                    return self._step_failed(state, message, "step_failed")
                delay = retry.defer if retry.defer is not None else step.backoff_for(attempt)
                context.warning(
                    f"attempt {attempt} of {attempts} failed: {retry.reason}; "
                    f"retrying in {delay:g}s"
                )
                try:
                    await context.sleep(delay)
                except Cancelled:
                    return self._step_cancelled(state)
                continue
            except Cancelled:
                return self._step_cancelled(state)
            except TimeoutError:
                return self._step_failed(state, f"timed out after {step.timeout:g}s", "timeout")
            except AppError as exc:
                return self._step_failed(state, exc.message, "step_failed")
            except Exception as exc:
                log.debug("step raised", step=step.name, exc_info=True)
                trace = "".join(traceback.format_exception(exc, limit=-TRACE_FRAMES))
                return self._step_failed(
                    state, f"{type(exc).__name__}: {exc}", "step_failed", traceback=trace
                )
            state.output = dict(output) if output else None
            state.finished_at = utcnow()
            self._set_step_status(state, StepStatus.COMPLETED)
            return None
        raise AssertionError("unreachable")

    async def _call(self, step: Step, context: StepContext[Any]) -> Mapping[str, Any] | None:
        """Await the step; honour its timeout and give a cancelled step a grace period."""
        task = asyncio.ensure_future(step.func(context))
        cancel = asyncio.ensure_future(self.reporter.cancel.wait())
        try:
            done, _ = await asyncio.wait(
                {task, cancel}, timeout=step.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                return task.result()
            if cancel in done:
                done, _ = await asyncio.wait({task}, timeout=self.env.cancel_grace_seconds)
                if task in done:
                    return task.result()
                raise Cancelled("the step did not stop within the grace period")
            raise TimeoutError
        finally:
            for pending in (task, cancel):
                if not pending.done():
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pending

    def _step_failed(self, state: StepState, message: str, reason: str, **data: Any) -> Outcome:
        message = mask_text(message)
        state.error = message
        state.finished_at = utcnow()
        self.reporter.log(state.name, "error", message, data)
        self._set_step_status(state, StepStatus.FAILED)
        return RunStatus.FAILED, reason, f"{state.name}: {message}"

    def _step_cancelled(self, state: StepState) -> Outcome:
        state.finished_at = utcnow()
        self.reporter.log(state.name, "warning", "cancelled", {})
        self._set_step_status(state, StepStatus.CANCELLED)
        return RunStatus.CANCELLED, "cancelled", None

    def _set_step_status(self, state: StepState, status: StepStatus) -> None:
        state.status = status
        self.reporter.dirty.add(state.name)
        self.env.bus.publish(
            events.step_status(
                self.run_id,
                self.job_id,
                step=state.name,
                status=status.value,
                attempt=state.attempt,
                error=state.error,
                run_progress=round(self._overall(), 1),
            )
        )

    def _overall(self) -> float:
        states = list(self.reporter.steps.values())
        if not states:
            return 0.0
        return sum(state.progress for state in states) / len(states)

    def _publish_status(self, status: RunStatus, **data: Any) -> None:
        self.env.bus.publish(
            events.run_status(self.run_id, self.job_id, status=status.value, **data)
        )

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        """Flush every ``FLUSH_SECONDS`` until ``stop`` is set (never cut off mid-write)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=FLUSH_SECONDS)
                return
            stale = time.monotonic() - self._last_heartbeat >= self.env.heartbeat_seconds
            if self.reporter.dirty or self.reporter.logs or stale:
                try:
                    await self._flush()
                except Exception:
                    log.warning("could not record progress; trying again", exc_info=True)

    async def _flush(self, final: Outcome | None = None) -> None:
        """Write buffered step states, log lines and run progress in one transaction.

        What was taken from the buffers goes back into them when the transaction fails.
        """
        names, self.reporter.dirty = self.reporter.dirty, set()
        logs, self.reporter.logs = self.reporter.logs, []
        try:
            async with self.env.db.session() as session:
                await write_steps(session, self.run_id, self.reporter.steps, sorted(names))
                if logs:
                    await session.execute(
                        insert(LogEntry), [{"run_id": self.run_id, **entry} for entry in logs]
                    )
                await self._write_run(session, final)
        except BaseException:
            self.reporter.dirty |= names
            self.reporter.logs[:0] = logs
            raise
        for name in names:
            self.reporter.steps[name].stored = True
        self._last_heartbeat = time.monotonic()

    async def _write_run(self, session: Any, final: Outcome | None) -> None:
        values: dict[str, Any] = {
            "progress": round(self._overall(), 2),
            "current_step": self.current_step,
            "heartbeat_at": utcnow(),
            "result": self.result,
        }
        if final is None:
            await session.execute(update(Run).where(Run.id == self.run_id).values(**values))
            cancel = await session.scalar(select(Run.cancel_requested).where(Run.id == self.run_id))
            if cancel:
                self.reporter.cancel.set()
            return
        status, reason, error = final
        if status in SUCCEEDED:
            values["progress"] = 100.0
        moved = await transition_run(
            session, self.run_id, status, reason=reason, error=error, **values
        )
        if not moved:
            log.warning("run was finished elsewhere; keeping that state", wanted=status)

    async def _finish(self, status: RunStatus, reason: str | None, error: str | None) -> None:
        if status is RunStatus.CANCELLED:
            for state in self.reporter.steps.values():
                if state.status == StepStatus.PENDING:
                    state.status = StepStatus.CANCELLED
                    self.reporter.dirty.add(state.name)
        await self._write_final((status, reason, error))
        log.info("run finished", status=status.value, reason=reason, error=error)
        self._publish_status(
            status,
            reason=reason,
            error=error,
            progress=round(self._overall(), 1),
            result=self.result,
        )

    async def _write_final(self, final: Outcome) -> None:
        """Record the outcome, waiting out a busy database rather than losing the run's end."""
        for attempt in range(1, FINAL_WRITE_ATTEMPTS + 1):
            try:
                await self._flush(final=final)
                return
            except Exception:
                if attempt == FINAL_WRITE_ATTEMPTS:
                    raise
                log.warning("could not record the run's end; trying again", attempt=attempt)
                await asyncio.sleep(0.5 * 2**attempt)
