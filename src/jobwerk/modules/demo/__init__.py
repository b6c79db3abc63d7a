"""A small built-in workflow that shows steps, progress, counters and logs without any account."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal

from pydantic import BaseModel, Field

from jobwerk.modules.base import JobSpec, Module
from jobwerk.sdk import Retry, StepContext, Workflow
from jobwerk.storage.models import Instance

StepName = Literal["collect", "transform", "publish"]


class ExampleParams(BaseModel):
    items: int = Field(40, ge=1, le=100_000, description="How many items to process")
    delay: float = Field(0.05, ge=0, le=10, description="Seconds of work per item")
    fail_in: StepName | None = Field(None, description="Make this step fail (to try retry)")
    flaky: bool = Field(False, description="The publish step fails once and is retried")


example = Workflow(
    "demo.example",
    ExampleParams,
    title="Example workflow",
    description="Collects, transforms and publishes items, with progress and logs.",
)


async def _work(ctx: StepContext[ExampleParams], verb: str) -> int:
    total = ctx.params.items
    for done in range(1, total + 1):
        ctx.check_cancelled()
        if ctx.params.fail_in == ctx.step and done > total // 2:
            raise RuntimeError(f"{verb} failed at item {done} (asked for by fail_in)")
        if ctx.params.delay:
            await ctx.sleep(ctx.params.delay)
        ctx.progress(done, total)
        if done % max(1, total // 4) == 0:
            ctx.info(f"{verb} {done} of {total} items")
    return total


@example.step("collect", title="Collect items", timeout=3600)
async def collect(ctx: StepContext[ExampleParams]) -> dict[str, Any]:
    return {"collected": await _work(ctx, "collected")}


@example.step("transform", title="Transform items", timeout=3600)
async def transform(ctx: StepContext[ExampleParams]) -> dict[str, Any]:
    collected = ctx.outputs["collect"]["collected"]
    return {"transformed": await _work(ctx, "transformed"), "input": collected}


class Outlet:
    """The demo's per-process resource; a real module keeps a connection pool or a client here.

    It counts the runs it served, so the result shows which process ran a run and that the
    runs of one process share it.
    """

    def __init__(self) -> None:
        self.process = os.getpid()
        self.runs = 0


@asynccontextmanager
async def outlet() -> AsyncIterator[Outlet]:
    yield Outlet()


@example.step("publish", title="Publish items", timeout=3600, retries=2, backoff=0.5)
async def publish(ctx: StepContext[ExampleParams]) -> dict[str, Any]:
    if ctx.params.flaky and ctx.attempt == 1:
        raise Retry("the target answered 503 (simulated)", defer=0.5)
    published = await _work(ctx, "published")
    shared: Outlet = ctx.resources
    shared.runs += 1
    ctx.result["published"] = published
    ctx.result["outlet"] = {"process": shared.process, "runs": shared.runs}
    return {"published": published}


class DemoModule(Module):
    name = "demo"
    version = "1.0.0"
    title = "Demo"
    description = "An example workflow to see the engine at work."

    def workflows(self) -> Sequence[Workflow[Any]]:
        return (example,)

    def resources(self, runtime: Any) -> AbstractAsyncContextManager[Any]:
        return outlet()

    def default_jobs(self, instance: Instance | None) -> Sequence[JobSpec]:
        return (JobSpec("demo_example", "demo.example", "Example workflow", interval_minutes=15),)


module = DemoModule()
