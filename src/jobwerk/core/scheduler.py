"""Fires scheduled jobs: APScheduler triggers compute the times, the database makes them unique.

Schedules live in the ``job`` table. Each due job is claimed with a compare-and-set on its
``next_run_at``, and its run is inserted with the fire time, which is unique per job; so two
processes sharing one database never fire the same (job, fire time) twice. Missed fires
coalesce into one run, and a job whose previous run is still active skips the fire.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from jobwerk.errors import InvalidInput
from jobwerk.storage.db import Database
from jobwerk.storage.models import Job, Run, utcnow

log = structlog.get_logger("jobwerk.scheduler")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MAX_COALESCE_STEPS = 100_000
MIN_INTERVAL_MINUTES = 0.5
"""The shortest interval a user may set (API, CLI, dashboard): 30 seconds. The scheduler checks
for due jobs every second, so shorter ones would work, but they would only load the shop's APIs."""
_WEEKDAY_PART = re.compile(r"^(?:\*|(\d{1,2})(?:-(\d{1,2}))?)(?:/(\d{1,2}))?$")


def _cron_weekdays(field: str) -> str:
    """Cron's weekday field (0 or 7 = Sunday, names, lists, ranges, steps) as APScheduler
    day names: APScheduler counts from Monday = 0, so every part is expanded into names.

    Raises:
        ValueError: for a part that is not a weekday, a range or a step of them.
    """
    days: set[int] = set()
    for part in field.lower().split(","):
        numbered = re.sub(r"[a-z]+", lambda name: _weekday_number(name.group()), part)
        match = _WEEKDAY_PART.match(numbered)
        if match is None:
            raise ValueError(f"weekday {part!r} is not a day, a range or a step")
        first, last, step = match.groups()
        start = int(first or 0)
        end = int(last) if last else start if first and not step else 6
        if end == 0 < start:
            end = 7  # sat-sun: Sunday closes the range
        if not start <= end <= 7 or (step is not None and int(step) == 0):
            raise ValueError(f"weekday {part!r} is out of range (0-7; 0 and 7 are Sunday)")
        days.update(day % 7 for day in range(start, end + 1, int(step or 1)))
    return "*" if len(days) == 7 else ",".join(WEEKDAYS[day] for day in sorted(days))


def _weekday_number(name: str) -> str:
    if name not in WEEKDAYS:
        raise ValueError(f"unknown weekday {name!r}; use sun, mon, tue, wed, thu, fri or sat")
    return str(WEEKDAYS.index(name))


def make_trigger(
    *, interval_minutes: float | None, cron: str | None, timezone: str, start: datetime
) -> BaseTrigger:
    """The APScheduler trigger for a schedule.

    Raises:
        InvalidInput: when the interval, cron expression or timezone is not valid.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # a folder: 'America'
        raise _invalid("timezone", f"unknown timezone {timezone!r}") from None
    if (interval_minutes is None) == (cron is None):
        raise _invalid("schedule", "give either interval_minutes or cron")
    if interval_minutes is not None:
        if not 0 < interval_minutes <= 60 * 24 * 366:
            raise _invalid("interval_minutes", "must be between 0 and 527040 minutes")
        return IntervalTrigger(minutes=interval_minutes, start_date=start, timezone=zone)
    assert cron is not None
    fields = cron.split()
    if len(fields) != 5:
        raise _invalid("cron", "a cron expression has 5 fields: minute hour day month weekday")
    # cron counts a day field starting with "*" as unrestricted (*/2 too); when both are
    # restricted it fires on either, where APScheduler alone would need both.
    either = not fields[2].startswith("*") and not fields[4].startswith("*")
    try:
        fields[4] = _cron_weekdays(fields[4])
        if not either:
            return CronTrigger.from_crontab(" ".join(fields), timezone=zone)
        minute, hour, day, month, weekday = fields
        return OrTrigger(
            [
                CronTrigger.from_crontab(f"{minute} {hour} {day} {month} *", timezone=zone),
                CronTrigger.from_crontab(f"{minute} {hour} * {month} {weekday}", timezone=zone),
            ]
        )
    except ValueError as exc:
        raise _invalid("cron", f"invalid cron expression: {exc}") from None


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, [{"loc": ["body", field], "msg": message, "type": "value_error"}])


def job_trigger(job: Job) -> BaseTrigger | None:
    if job.interval_minutes is None and job.cron is None:
        return None
    return make_trigger(
        interval_minutes=job.interval_minutes,
        cron=job.cron,
        timezone=job.timezone,
        start=job.created_at,
    )


def next_fire_after(trigger: BaseTrigger, moment: datetime) -> datetime | None:
    """The first fire time strictly after ``moment``."""
    fire: datetime | None = trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))
    return fire


def upcoming_fires(trigger: BaseTrigger, after: datetime, count: int) -> list[datetime]:
    fires: list[datetime] = []
    moment = after
    while len(fires) < count and (fire := next_fire_after(trigger, moment)) is not None:
        fires.append(fire)
        moment = fire
    return fires


def latest_due_fire(trigger: BaseTrigger, first: datetime, now: datetime) -> datetime:
    """Coalesce: of the fires from ``first`` up to ``now``, the latest one."""
    latest = first
    for _ in range(MAX_COALESCE_STEPS):
        fire = next_fire_after(trigger, latest)
        if fire is None or fire > now:
            break
        latest = fire
    return latest


async def fire_due_jobs(
    db: Database, now: datetime, on_run: Callable[[str], None] | None = None
) -> list[str]:
    """Create one run for every job that is due at ``now``; returns the new run ids."""
    async with db.session() as session:
        due = (
            await session.scalars(select(Job).where(Job.enabled.is_(True), Job.next_run_at <= now))
        ).all()
    created: list[str] = []
    for job in due:
        try:
            run_id = await _fire(db, job, now)
        except InvalidInput as exc:  # stored by an older version that read it differently
            log.error(
                "a job's schedule is invalid; it stops firing until it is set again",
                job_id=job.id,
                error=exc.message,
            )
            async with db.session() as session:
                await session.execute(update(Job).where(Job.id == job.id).values(next_run_at=None))
            continue
        if run_id is not None:
            created.append(run_id)
            if on_run is not None:
                on_run(run_id)
    return created


async def _fire(db: Database, job: Job, now: datetime) -> str | None:
    trigger = job_trigger(job)
    assert job.next_run_at is not None
    fire_at = job.next_run_at if trigger is None else latest_due_fire(trigger, job.next_run_at, now)
    following = None if trigger is None else next_fire_after(trigger, max(fire_at, now))
    async with db.session() as session:
        claimed = await session.execute(
            update(Job)
            .where(Job.id == job.id, Job.next_run_at == job.next_run_at, Job.enabled.is_(True))
            .values(next_run_at=following, last_fire_at=fire_at)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None
        run = Run(
            workflow=job.workflow,
            job_id=job.id,
            instance_id=job.instance_id,
            trigger="schedule",
            params=dict(job.params),
            fire_at=fire_at,
        )
        try:
            async with session.begin_nested():
                session.add(run)
        except IntegrityError:
            log.warning(
                "fire skipped: the job's previous run is still active",
                job_id=job.id,
                fire_at=fire_at.isoformat(),
            )
            return None
    log.info("job fired", job_id=job.id, run_id=run.id, fire_at=fire_at.isoformat())
    return run.id


class Scheduler:
    """Checks for due jobs every ``tick_seconds`` and enqueues their runs."""

    def __init__(
        self, db: Database, submit: Callable[[str], None], *, tick_seconds: float = 1.0
    ) -> None:
        self.db = db
        self.submit = submit
        self.tick_seconds = tick_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="jobwerk-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                await fire_due_jobs(self.db, utcnow(), self.submit)
            except Exception:
                log.exception("scheduler tick failed; retrying")
            await asyncio.sleep(self.tick_seconds)
