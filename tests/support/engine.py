"""Workflows that exercise the engine's semantics, and helpers to start and await runs."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from jobwerk.core import run_service
from jobwerk.core.context import StepContext
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import FINISHED, RunStatus
from jobwerk.core.workflow import Retry, Workflow
from jobwerk.storage.models import Run


class FlakyParams(BaseModel):
    failures: int = 1
    defer: float | None = 0.01


flaky = Workflow("test.flaky", FlakyParams)


@flaky.step("call", retries=3, backoff=0.01)
async def flaky_call(ctx: StepContext[FlakyParams]) -> dict[str, Any]:
    if ctx.attempt <= ctx.params.failures:
        raise Retry(f"attempt {ctx.attempt} refused", defer=ctx.params.defer)
    return {"attempts": ctx.attempt}


class LoopParams(BaseModel):
    units: int = 1000
    pause: float = 0.01
    ignore_cancel: bool = False


loop = Workflow("test.loop", LoopParams)


@loop.step("work")
async def loop_work(ctx: StepContext[LoopParams]) -> dict[str, Any]:
    for unit in range(ctx.params.units):
        if not ctx.params.ignore_cancel:
            ctx.check_cancelled()
        await asyncio.sleep(ctx.params.pause)
        ctx.progress(unit + 1, ctx.params.units)
    return {"units": ctx.params.units}


class Empty(BaseModel):
    pass


slow = Workflow("test.slow", Empty)


@slow.step("wait", timeout=0.2)
async def slow_wait(ctx: StepContext[Empty]) -> None:
    await asyncio.sleep(5)


FAILED_ONCE: set[str] = set()


class ResumeParams(BaseModel):
    marker: str


resume = Workflow("test.resume", ResumeParams)


@resume.step("first")
async def resume_first(ctx: StepContext[ResumeParams]) -> dict[str, Any]:
    ctx.count("first_runs")
    return {"token": f"from-{ctx.run_id}"}


@resume.step("second")
async def resume_second(ctx: StepContext[ResumeParams]) -> dict[str, Any]:
    if ctx.params.marker not in FAILED_ONCE:
        FAILED_ONCE.add(ctx.params.marker)
        raise RuntimeError("second step fails the first time")
    ctx.info("second step sees the first step's output", token=ctx.outputs["first"]["token"])
    return {"token": ctx.outputs["first"]["token"]}


noop = Workflow("test.noop", Empty)
for _name in ("one", "two", "three", "four", "five"):

    @noop.step(_name)
    async def _noop(ctx: StepContext[Empty]) -> None:
        return None


TEST_WORKFLOWS = (flaky, loop, slow, resume, noop)


async def start(runtime: Runtime, workflow: str, **params: Any) -> str:
    async with runtime.transaction() as session:
        run = await run_service.enqueue_run(session, runtime.workflows, workflow, params)
    return run.id


async def wait_for(runtime: Runtime, run_id: str, *states: RunStatus, within: float = 10) -> Run:
    """Poll the run until it reaches one of ``states`` (default: any finished state)."""
    wanted = set(states) or FINISHED
    async with asyncio.timeout(within):
        while True:
            async with runtime.db.session() as session:
                run = await run_service.get_run(session, run_id, with_steps=True)
            if run.status in wanted:
                return run
            await asyncio.sleep(0.02)
