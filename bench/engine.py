"""Engine benchmark: five-step no-op runs on SQLite, on PostgreSQL, and on PostgreSQL with the
Procrastinate executor.

Prints, per database and executor: runs completed per second for 1,000 runs enqueued at once;
p50/p99 latency from enqueue (commit) to the first step's start for 1,000 runs enqueued at a
steady 50/s (half the target throughput, so the figure is the engine's reaction time, not a
queue backlog); and the peak RSS of the process.

Usage: python bench/engine.py [--runs N] [--postgres URL] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import psutil
import psycopg
from pydantic import BaseModel
from sqlalchemy import select

from jobwerk.config import Settings
from jobwerk.core import run_service
from jobwerk.core.context import StepContext
from jobwerk.core.runtime import Runtime
from jobwerk.core.workflow import Workflow
from jobwerk.logging import configure_logging
from jobwerk.storage.models import StepRun

ARRIVALS_PER_SECOND = 50


class NoParams(BaseModel):
    pass


noop = Workflow("bench.noop", NoParams)
for _name in ("one", "two", "three", "four", "five"):

    @noop.step(_name)
    async def _step(ctx: StepContext[NoParams]) -> None:
        return None


async def _enqueue(runtime: Runtime) -> tuple[str, datetime]:
    async with runtime.transaction() as session:
        run = await run_service.enqueue_run(session, runtime.workflows, "bench.noop")
    return run.id, run.created_at


async def _wait_all(runtime: Runtime, total: int) -> None:
    """Wait until ``total`` runs have completed, counting the bus's status events."""
    subscription = runtime.bus.subscribe(
        maxsize=100_000,
        accept=lambda event: event.kind == "run.status" and event.data["status"] == "completed",
    )
    done = 0
    async for _ in subscription:
        done += 1
        if done == total:
            break
    subscription.close()


async def bench(url: str, data_dir: Path, runs: int, executor: str = "local") -> str:
    settings = Settings(
        data_dir=data_dir, database={"url": url}, engine={"executor": executor}, _env_file=None
    )
    runtime = Runtime(settings)
    runtime.workflows.register(noop)
    await runtime.start(scheduler=False)
    started = time.perf_counter()
    waiting = asyncio.create_task(_wait_all(runtime, runs))
    for _ in range(runs):
        await _enqueue(runtime)
    await waiting
    throughput = runs / (time.perf_counter() - started)

    enqueued: dict[str, datetime] = {}
    waiting = asyncio.create_task(_wait_all(runtime, runs))
    for _ in range(runs):
        run_id, created_at = await _enqueue(runtime)
        enqueued[run_id] = created_at
        await asyncio.sleep(1 / ARRIVALS_PER_SECOND)
    await waiting
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(StepRun.run_id, StepRun.started_at).where(
                StepRun.position == 0, StepRun.run_id.in_(list(enqueued))
            )
        )
        latencies = sorted(
            (started_at - enqueued[run_id]).total_seconds() * 1000
            for run_id, started_at in rows
            if started_at is not None
        )
    await runtime.stop()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    rss = _peak_rss_mb()
    return (
        f"{runtime.db.engine.dialect.name:<10} {executor:<13} runs={runs} "
        f"throughput={throughput:.0f} runs/s start_latency_p50={p50:.1f}ms p99={p99:.1f}ms "
        f"peak_rss={rss:.0f}MB"
    )


def _peak_rss_mb() -> float:
    """The process's peak resident set size (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory() as folder:
        print(asyncio.run(bench(f"sqlite:///{folder}/bench.db", Path(folder), args.runs)))
        if args.no_postgres:
            return
        for executor in ("local", "procrastinate"):
            name = f"jobwerk_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.postgres, autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{name}"')
            try:
                url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
                print(asyncio.run(bench(url, Path(folder), args.runs, executor)))
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as connection:
                    connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
