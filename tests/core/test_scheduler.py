"""Scheduler: interval and cron (with timezone), coalescing, and unique fires across processes."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from jobwerk.config import Settings
from jobwerk.core import job_service, run_service
from jobwerk.core.runtime import Runtime
from jobwerk.core.scheduler import fire_due_jobs, make_trigger, upcoming_fires
from jobwerk.errors import InvalidInput
from jobwerk.storage.db import upgrade_database
from jobwerk.storage.models import Job, Run, utcnow
from tests.support.engine import wait_for

START = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)


def test_cron_fires_in_the_schedule_timezone_across_daylight_saving() -> None:
    trigger = make_trigger(
        interval_minutes=None, cron="30 2 * * *", timezone="Europe/Berlin", start=START
    )
    fires = upcoming_fires(trigger, START, 3)
    # 28 March: 02:30 CET = 01:30 UTC; 29 March is the spring-forward day, 30 March is CEST.
    assert [fire.astimezone(UTC).isoformat() for fire in fires] == [
        "2026-03-28T01:30:00+00:00",
        "2026-03-29T01:30:00+00:00",
        "2026-03-30T00:30:00+00:00",
    ]


def test_cron_weekday_numbers_mean_what_cron_means() -> None:
    sunday_nine = make_trigger(interval_minutes=None, cron="0 9 * * 0", timezone="UTC", start=START)
    fires = upcoming_fires(sunday_nine, START, 2)
    assert [fire.strftime("%A %H:%M") for fire in fires] == ["Sunday 09:00"] * 2
    weekdays = make_trigger(interval_minutes=None, cron="0 9 * * 1-5", timezone="UTC", start=START)
    assert {fire.strftime("%a") for fire in upcoming_fires(weekdays, START, 10)} == {
        "Mon",
        "Tue",
        "Wed",
        "Thu",
        "Fri",
    }


@pytest.mark.parametrize(
    ("weekdays", "days"),
    [
        ("*/2", {"Sun", "Tue", "Thu", "Sat"}),
        ("1-5/2", {"Mon", "Wed", "Fri"}),
        ("7", {"Sun"}),
        ("mon,3", {"Mon", "Wed"}),
        ("sat-sun", {"Sat", "Sun"}),
        ("0-7", {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}),
    ],
)
def test_cron_weekday_steps_lists_and_names(weekdays: str, days: set[str]) -> None:
    trigger = make_trigger(
        interval_minutes=None, cron=f"0 9 * * {weekdays}", timezone="UTC", start=START
    )
    assert {fire.strftime("%a") for fire in upcoming_fires(trigger, START, 14)} == days


def test_cron_with_both_day_fields_fires_on_either_as_cron_does() -> None:
    # The 1st of the month or any Friday, from Friday 27 March 2026, noon.
    trigger = make_trigger(interval_minutes=None, cron="0 9 1 * fri", timezone="UTC", start=START)
    assert [fire.date().isoformat() for fire in upcoming_fires(trigger, START, 3)] == [
        "2026-04-01",
        "2026-04-03",
        "2026-04-10",
    ]
    # A day field starting with "*" is unrestricted: */2 with a weekday needs both ...
    odd_mondays = make_trigger(
        interval_minutes=None, cron="0 9 */2 * mon", timezone="UTC", start=START
    )
    assert [fire.date().isoformat() for fire in upcoming_fires(odd_mondays, START, 2)] == [
        "2026-04-13",
        "2026-04-27",
    ]
    # ... and every weekday with a day of month is every day.
    daily = make_trigger(interval_minutes=None, cron="0 9 1 * 0-6", timezone="UTC", start=START)
    assert len({fire.date() for fire in upcoming_fires(daily, START, 5)}) == 5


def test_interval_fires_every_n_minutes_from_its_start() -> None:
    trigger = make_trigger(interval_minutes=30, cron=None, timezone="UTC", start=START)
    fires = upcoming_fires(trigger, START + timedelta(minutes=1), 3)
    assert [fire - START for fire in fires] == [timedelta(minutes=m) for m in (30, 60, 90)]


@pytest.mark.parametrize(
    ("interval", "cron", "timezone", "field"),
    [
        (None, "61 * * * *", "UTC", "cron"),
        (None, "* * *", "UTC", "cron"),
        (0, None, "UTC", "interval_minutes"),
        (5, "* * * * *", "UTC", "schedule"),
        (None, "* * * * *", "Mars/Olympus", "timezone"),
        (None, "* * * * *", "Europe", "timezone"),
        (None, "* * * * 8", "UTC", "cron"),
        (None, "* * * * 99999999999999999999", "UTC", "cron"),
        (None, "* * * * 1#9", "UTC", "cron"),
        (None, "* * * * 1/0", "UTC", "cron"),
        (None, "* * * * 5-1", "UTC", "cron"),
        (None, "* * * * funday", "UTC", "cron"),
    ],
)
def test_invalid_schedules_are_refused_with_the_field_named(
    interval: float | None, cron: str | None, timezone: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        make_trigger(interval_minutes=interval, cron=cron, timezone=timezone, start=START)
    assert error.value.errors[0]["loc"] == ["body", field]


async def _job(runtime: Runtime, **schedule: object) -> Job:
    async with runtime.transaction() as session:
        return await job_service.save_job(
            session,
            runtime.workflows,
            "tick",
            "demo.example",
            params={"items": 1, "delay": 0},
            **schedule,  # type: ignore[arg-type]
        )


async def test_missed_fires_coalesce_into_one_run(runtime: Runtime) -> None:
    await _job(runtime, interval_minutes=1)
    async with runtime.transaction() as session:
        await session.execute(
            update(Job).values(next_run_at=utcnow() - timedelta(minutes=90, seconds=30))
        )
    created = await fire_due_jobs(runtime.db, utcnow())
    assert len(created) == 1
    async with runtime.db.session() as session:
        run = await run_service.get_run(session, created[0])
        job = await job_service.get_job(session, "tick")
    assert run.trigger == "schedule" and run.fire_at is not None
    assert utcnow() - run.fire_at < timedelta(minutes=1)
    assert job.next_run_at is not None and job.next_run_at > utcnow()
    assert await fire_due_jobs(runtime.db, utcnow()) == []


async def test_a_stored_schedule_no_longer_valid_stops_only_its_job(runtime: Runtime) -> None:
    await runtime.executor.stop()
    await _job(runtime, interval_minutes=1)
    async with runtime.transaction() as session:
        await job_service.save_job(
            session, runtime.workflows, "old", "demo.example", params={"items": 1}, cron="0 9 * * 1"
        )
        # weekday 8 was read as Sunday before; now it is refused
        await session.execute(update(Job).where(Job.id == "old").values(cron="0 9 * * 8"))
        await session.execute(update(Job).values(next_run_at=utcnow() - timedelta(seconds=1)))
    created = await fire_due_jobs(runtime.db, utcnow())
    async with runtime.db.session() as session:
        runs = (await session.scalars(select(Run.job_id))).all()
        old = await job_service.get_job(session, "old")
    assert len(created) == 1 and runs == ["tick"]
    assert old.next_run_at is None


async def test_a_fire_is_skipped_while_the_previous_run_is_active(runtime: Runtime) -> None:
    await runtime.executor.stop()
    await _job(runtime, interval_minutes=1)
    for _ in range(2):
        async with runtime.transaction() as session:
            await session.execute(update(Job).values(next_run_at=utcnow()))
        await fire_due_jobs(runtime.db, utcnow())
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Run)) == 1


async def test_disabled_jobs_do_not_fire_and_schedule_changes_apply_at_once(
    runtime: Runtime,
) -> None:
    job = await _job(runtime, cron="*/5 * * * *")
    assert job.next_run_at is not None and job.next_run_at.minute % 5 == 0
    async with runtime.transaction() as session:
        job = await job_service.set_enabled(session, "tick", False)
    assert job.next_run_at is None
    async with runtime.transaction() as session:
        job = await job_service.set_enabled(session, "tick", True)
        job = await job_service.set_schedule(session, "tick", interval_minutes=0.01)
    assert job.next_run_at is not None
    assert await fire_due_jobs(runtime.db, job.next_run_at - timedelta(seconds=0.1)) == []
    created = await fire_due_jobs(runtime.db, job.next_run_at)  # its time, not a sleep
    assert len(created) == 1
    runtime.executor.submit(created[0])
    assert (await wait_for(runtime, created[0])).status == "completed"


async def test_two_processes_on_one_database_never_fire_twice(
    db_settings: Settings, tmp_path: Path
) -> None:
    url = db_settings.database_url
    await asyncio.to_thread(upgrade_database, url)
    runtime = Runtime(db_settings)
    from jobwerk.modules.demo import module as demo_module
    from jobwerk.modules.registry import register_module

    register_module(runtime, "demo", demo_module)
    async with runtime.transaction() as session:
        await job_service.save_job(
            session,
            runtime.workflows,
            "tick",
            "demo.example",
            params={"items": 1, "delay": 0},
            interval_minutes=0.005,
        )
    seconds = 6.0
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.core._scheduler_process",
            url,
            db_settings.engine.executor,
            str(tmp_path / f"data{n}"),
            str(seconds),
            cwd=Path(__file__).parents[2],
        )
        for n in range(2)
    ]
    for process in processes:
        assert await asyncio.wait_for(process.wait(), 60) == 0
    async with runtime.db.session() as session:
        rows = (await session.execute(select(Run.fire_at, Run.status, Run.worker))).all()
    await runtime.db.dispose()
    fires = [row.fire_at for row in rows]
    assert len(fires) == len(set(fires))
    assert len(fires) >= 10  # about one fire per 0.3 s over the run time
    # a run fired just before both processes stopped may still be queued; none is left running
    assert {row.status for row in rows} <= {"completed", "failed", "queued"}
    assert len({row.worker.rsplit(":", 1)[1] for row in rows if row.worker}) == 2
