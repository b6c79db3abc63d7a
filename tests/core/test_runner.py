"""Engine semantics on SQLite and PostgreSQL: steps, retries, timeouts, cancel, resume, guards."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from jobwerk.config import Settings
from jobwerk.core import instances, job_service, run_service
from jobwerk.core.executors._base import recover_interrupted
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import RunStatus
from jobwerk.errors import Conflict, InvalidInput, Locked, NotFound
from jobwerk.storage.models import LogEntry, Run, utcnow
from tests.support.engine import TEST_WORKFLOWS, start, wait_for

SLOW_WRITE_SECONDS = 0.3


@contextmanager
def before_each_statement(runtime: Runtime, hook: Callable[[Any, str], None]) -> Iterator[None]:
    """Call ``hook(connection, statement)`` before every statement the runtime sends to its
    database (SQLAlchemy's event), as a database that fails or stalls at a chosen moment would."""
    engine = runtime.db.engine.sync_engine

    def listener(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        hook(connection, statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def writes_run(statement: str, *, end: bool) -> bool:
    """The runner's write of a run's progress and heartbeat; with ``end``, of its final state."""
    sets_progress = statement.startswith("UPDATE run SET") and "progress" in statement
    return sets_progress and ("status" in statement) == end


def hold(connection: Any, seconds: float) -> None:
    """Keep the statement waiting for ``seconds`` without blocking the event loop."""
    connection.connection.dbapi_connection.run_async(lambda _driver: asyncio.sleep(seconds))


async def test_a_run_executes_its_steps_in_order_with_progress_and_logs(runtime: Runtime) -> None:
    run_id = await start(runtime, "demo.example", items=8, delay=0)
    run = await wait_for(runtime, run_id)
    assert run.status == "completed"
    assert run.progress == 100
    assert [step.name for step in run.steps] == ["collect", "transform", "publish"]
    assert all(step.status == "completed" and step.done == 8 for step in run.steps)
    starts = [step.started_at for step in run.steps]
    assert None not in starts and starts == sorted(starts)  # type: ignore[type-var]
    assert run.result["published"] == 8
    async with runtime.db.session() as session:
        lines = (await session.scalars(select(LogEntry).where(LogEntry.run_id == run_id))).all()
    assert {line.step for line in lines} == {"collect", "transform", "publish"}


async def test_a_failing_step_fails_the_run_and_keeps_later_steps_pending(
    runtime: Runtime,
) -> None:
    run = await wait_for(
        runtime, await start(runtime, "demo.example", items=4, delay=0, fail_in="transform")
    )
    assert run.status == "failed"
    assert run.reason == "step_failed"
    assert run.error is not None and run.error.startswith("transform: RuntimeError")
    assert [step.status for step in run.steps] == ["completed", "failed", "pending"]


async def test_retryable_errors_are_retried_with_the_requested_delay(runtime: Runtime) -> None:
    run = await wait_for(runtime, await start(runtime, "test.flaky", failures=2))
    assert run.status == "completed_with_warnings"
    assert run.steps[0].attempt == 3
    assert run.steps[0].output == {"attempts": 3}
    assert len(run.result["warnings"]) == 2


async def test_retries_give_up_after_the_last_attempt(runtime: Runtime) -> None:
    run = await wait_for(runtime, await start(runtime, "test.flaky", failures=9, defer=None))
    assert run.status == "failed"
    assert run.steps[0].attempt == 4
    assert "gave up after 4 attempts" in (run.error or "")


async def test_a_step_that_exceeds_its_timeout_fails_with_reason_timeout(
    runtime: Runtime,
) -> None:
    run = await wait_for(runtime, await start(runtime, "test.slow"))
    assert (run.status, run.reason) == ("failed", "timeout")
    assert "timed out after 0.2s" in (run.error or "")


async def test_cancel_stops_a_running_step_between_units_of_work(runtime: Runtime) -> None:
    run_id = await start(runtime, "test.loop", units=10_000, pause=0.005)
    await wait_for(runtime, run_id, RunStatus.RUNNING)
    async with runtime.transaction() as session:
        await run_service.cancel_run(session, run_id)
    run = await wait_for(runtime, run_id, within=5)
    assert run.status == "cancelled"
    assert run.steps[0].status == "cancelled"
    assert 0 < run.steps[0].done < 10_000


async def test_a_step_ignoring_cancel_is_stopped_after_the_grace_period(
    runtime: Runtime,
) -> None:
    runtime.env.cancel_grace_seconds = 0.1
    run_id = await start(runtime, "test.loop", units=10_000, pause=0.005, ignore_cancel=True)
    await wait_for(runtime, run_id, RunStatus.RUNNING)
    async with runtime.transaction() as session:
        await run_service.cancel_run(session, run_id)
    run = await wait_for(runtime, run_id, within=5)
    assert run.status == "cancelled"


async def test_a_queued_run_is_cancelled_at_once(runtime: Runtime) -> None:
    await runtime.executor.stop()
    run_id = await start(runtime, "test.noop")
    async with runtime.transaction() as session:
        run = await run_service.cancel_run(session, run_id)
    assert run.status == "cancelled"
    async with runtime.transaction() as session:
        with pytest.raises(Conflict, match="already finished"):
            await run_service.cancel_run(session, run_id)


async def test_a_retry_is_a_new_linked_run_that_skips_completed_steps(
    runtime: Runtime,
) -> None:
    failed = await wait_for(
        runtime, await start(runtime, "test.resume", marker=runtime.env.worker + str(id(runtime)))
    )
    assert failed.status == "failed"
    async with runtime.transaction() as session:
        retry = await run_service.retry_run(session, runtime.workflows, failed.id)
    run = await wait_for(runtime, retry.id)
    assert run.status == "completed"
    assert run.retry_of_run_id == failed.id
    assert [step.status for step in run.steps] == ["skipped", "completed"]
    assert run.steps[1].output == {"token": f"from-{failed.id}"}
    assert "first_runs" not in run.result.get("counts", {})


async def test_only_failed_or_cancelled_runs_can_be_retried(runtime: Runtime) -> None:
    run = await wait_for(runtime, await start(runtime, "test.noop"))
    async with runtime.transaction() as session:
        with pytest.raises(Conflict, match="only failed or cancelled"):
            await run_service.retry_run(session, runtime.workflows, run.id)


async def test_a_job_runs_once_at_a_time(runtime: Runtime) -> None:
    async with runtime.transaction() as session:
        await job_service.save_job(
            session,
            runtime.workflows,
            "looping",
            "test.loop",
            params={"units": 10_000, "pause": 0.005},
        )
    async with runtime.transaction() as session:
        first = await job_service.trigger_job(session, runtime.workflows, "looping")
    async with runtime.transaction() as session:
        with pytest.raises(Conflict, match="already has a queued or running run"):
            await job_service.trigger_job(session, runtime.workflows, "looping")
    async with runtime.transaction() as session:
        await run_service.cancel_run(session, first.id)
    await wait_for(runtime, first.id)
    async with runtime.transaction() as session:
        second = await job_service.trigger_job(session, runtime.workflows, "looping", {"units": 1})
    assert (await wait_for(runtime, second.id)).status == "completed"


async def test_triggering_checks_the_job_and_its_parameters(runtime: Runtime) -> None:
    async with runtime.transaction() as session:
        await job_service.save_job(
            session, runtime.workflows, "demo", "demo.example", enabled=False
        )
    async with runtime.transaction() as session:
        with pytest.raises(NotFound):
            await job_service.trigger_job(session, runtime.workflows, "missing")
        with pytest.raises(Locked, match="disabled"):
            await job_service.trigger_job(session, runtime.workflows, "demo")
        await job_service.set_enabled(session, "demo", True)
        with pytest.raises(InvalidInput) as error:
            await job_service.trigger_job(session, runtime.workflows, "demo", {"items": "many"})
    assert error.value.errors[0]["loc"] == ["params", "items"]


async def test_a_run_left_running_by_a_dead_process_becomes_interrupted(
    runtime: Runtime,
) -> None:
    await runtime.executor.stop()
    dead_pid = 2**22 + 12345
    while True:
        try:
            os.kill(dead_pid, 0)
        except ProcessLookupError:
            break
        dead_pid += 1
    async with runtime.transaction() as session:
        alive = Run(
            workflow="test.noop", status="running", worker="elsewhere:1", heartbeat_at=utcnow()
        )
        dead = Run(
            workflow="test.noop",
            status="running",
            worker=f"{runtime.env.worker.split(':')[0]}:{dead_pid}",
            heartbeat_at=utcnow(),
        )
        session.add_all([alive, dead])
    interrupted = await recover_interrupted(runtime.env, stale_after_seconds=60)
    assert interrupted == [dead.id]
    interrupted = await recover_interrupted(runtime.env, stale_after_seconds=0)
    assert interrupted == [alive.id]
    async with runtime.db.session() as session:
        run = await run_service.get_run(session, dead.id)
    assert (run.status, run.reason) == ("failed", "interrupted")


async def test_stopping_the_executor_interrupts_running_runs(runtime: Runtime) -> None:
    run_id = await start(runtime, "test.loop", units=10_000, pause=0.005)
    await wait_for(runtime, run_id, RunStatus.RUNNING)
    await runtime.executor.stop()
    async with runtime.db.session() as session:
        run = await run_service.get_run(session, run_id)
    assert (run.status, run.reason) == ("failed", "interrupted")


async def test_stopping_the_executor_while_a_run_records_its_end_still_records_it(
    runtime: Runtime,
) -> None:
    recording = asyncio.Event()

    def slow_end(connection: Any, statement: str) -> None:
        if writes_run(statement, end=True) and not recording.is_set():
            recording.set()
            hold(connection, SLOW_WRITE_SECONDS)

    with before_each_statement(runtime, slow_end):
        run_id = await start(runtime, "test.noop")
        await asyncio.wait_for(recording.wait(), 10)
        await runtime.executor.stop()
    async with runtime.db.session() as session:
        assert (await run_service.get_run(session, run_id)).status == "completed"


async def test_a_process_told_not_to_execute_leaves_runs_to_the_others(
    db_settings: Settings,
) -> None:
    engine = db_settings.engine.model_copy(update={"execute": False})
    api_only, worker = (
        Runtime(db_settings.model_copy(update={"engine": engine})),
        Runtime(db_settings),
    )
    for runtime in (api_only, worker):
        for workflow in TEST_WORKFLOWS:
            runtime.workflows.register(workflow)
    api_only.env.worker, worker.env.worker = "api-node", "worker-node"
    await api_only.start(scheduler=False)
    try:
        run_id = await start(api_only, "test.noop")  # an executor here would claim it at once
        await worker.start(scheduler=False)
        run = await wait_for(worker, run_id)
        assert (run.status, run.worker) == ("completed", "worker-node")
    finally:
        await worker.stop()
        await api_only.stop()


async def test_events_report_the_run_as_it_happens(runtime: Runtime) -> None:
    subscription = runtime.bus.subscribe()
    run_id = await start(runtime, "demo.example", items=3, delay=0)
    kinds: list[str] = []
    async with asyncio.timeout(5):
        async for event in subscription:
            if event.run_id == run_id:
                kinds.append(event.kind)
                if event.kind == "run.status" and event.data["status"] == "completed":
                    break
    subscription.close()
    assert kinds[0] == "run.status"
    assert {"step.status", "step.progress", "log"} <= set(kinds)


@pytest.mark.timeout(20)
async def test_more_runs_than_the_concurrency_limit_all_complete(runtime: Runtime) -> None:
    runtime.executor.concurrency = 2  # type: ignore[attr-defined]
    run_ids = [await start(runtime, "test.noop") for _ in range(12)]
    for run_id in run_ids:
        assert (await wait_for(runtime, run_id)).status == "completed"


async def test_a_failure_outside_the_steps_fails_the_run_instead_of_leaving_it_running(
    runtime: Runtime,
) -> None:
    async def sealed_vault(instance_id: str) -> None:
        raise RuntimeError("vault sealed")

    runtime.env.load_instance = sealed_vault
    async with runtime.transaction() as session:
        shop = await instances.create_instance(session, runtime.box, "demo", None, "shop", {})
        queued = await run_service.enqueue_run(
            session, runtime.workflows, "test.noop", instance_id=shop.id
        )
    run = await wait_for(runtime, queued.id)
    assert (run.status, run.reason) == ("failed", "engine_error")
    assert "vault sealed" in (run.error or "")


async def test_the_last_step_state_is_stored_even_when_a_flush_is_under_way(
    runtime: Runtime,
) -> None:
    run_ids = [await start(runtime, "test.loop", units=23, pause=0.01) for _ in range(16)]
    for run_id in run_ids:
        run = await wait_for(runtime, run_id)
        assert (run.status, run.steps[0].status, run.steps[0].done) == (
            "completed",
            "completed",
            23,
        )


async def test_a_failed_progress_write_is_retried_with_nothing_lost(runtime: Runtime) -> None:
    failures = iter([True, True])

    def away_for_a_moment(connection: Any, statement: str) -> None:
        if writes_run(statement, end=False) and next(failures, False):
            raise ConnectionError("database went away for a moment")

    with before_each_statement(runtime, away_for_a_moment):
        run_id = await start(runtime, "demo.example", items=30, delay=0.02)
        run = await wait_for(runtime, run_id)
    assert next(failures, False) is False  # two writes failed
    assert run.status == "completed"
    assert [step.done for step in run.steps] == [30, 30, 30]
    async with runtime.db.session() as session:
        lines = (await session.scalars(select(LogEntry).where(LogEntry.run_id == run.id))).all()
    assert len(lines) == 12


async def test_the_end_of_a_run_is_recorded_even_when_the_first_write_fails(
    runtime: Runtime,
) -> None:
    failures = iter([True])

    def locked_once(connection: Any, statement: str) -> None:
        if writes_run(statement, end=True) and next(failures, False):
            raise ConnectionError("database is locked")

    with before_each_statement(runtime, locked_once):
        run = await wait_for(runtime, await start(runtime, "test.noop"))
    assert next(failures, False) is False  # the first write failed
    assert run.status == "completed"
    assert [step.status for step in run.steps] == ["completed"] * 5
