"""``jobwerk jobs``: list, run, enable, disable and schedule jobs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from jobwerk.cli._output import JsonOption, console, print_json, table, when
from jobwerk.cli._runtime import cli_actor, run, with_runtime
from jobwerk.cli._watch import watch_run
from jobwerk.core import job_service
from jobwerk.core.runtime import Runtime
from jobwerk.core.scheduler import MIN_INTERVAL_MINUTES
from jobwerk.core.states import SUCCEEDED
from jobwerk.errors import InvalidInput
from jobwerk.storage.models import Job

app = typer.Typer(no_args_is_help=True)


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "workflow": job.workflow,
        "instance_id": job.instance_id,
        "title": job.title,
        "enabled": job.enabled,
        "params": job.params,
        "interval_minutes": job.interval_minutes,
        "cron": job.cron,
        "timezone": job.timezone,
        "next_run": job.next_run_at if job.enabled else None,
        "last_fire_at": job.last_fire_at,
    }


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are read as JSON when they parse, else as text."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--param {pair!r} must look like key=value")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


@app.command("list")
def list_jobs(as_json: bool = JsonOption) -> None:
    """Show every job with its schedule and next run."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.session() as session:
            return [job_dict(job) for job in await job_service.list_jobs(session)]

    jobs = run(with_runtime(action))
    if as_json:
        print_json(jobs)
        return
    table(
        "Jobs",
        ["job", "workflow", "enabled", "schedule", "next run"],
        [
            [
                job["job_id"],
                job["workflow"],
                "yes" if job["enabled"] else "no",
                f"every {job['interval_minutes']:g} min"
                if job["interval_minutes"]
                else (f"cron {job['cron']} ({job['timezone']})" if job["cron"] else "manual"),
                when(job["next_run"]),
            ]
            for job in jobs
        ],
    )


@app.command("run")
def run_job(
    job_id: str,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value")] = None,
    wait: Annotated[bool, typer.Option(help="Execute here and show live progress")] = False,
    as_json: bool = JsonOption,
) -> None:
    """Start a job now; with --wait, follow it and exit non-zero if it fails."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        async with runtime.transaction() as session:
            new_run = await job_service.trigger_job(
                session,
                runtime.workflows,
                job_id,
                parse_params(param or []),
                trigger="cli",
                started_by=cli_actor(),
            )
        if not wait:
            return {"status": "triggered", "job_id": job_id, "run_id": new_run.id}
        return await watch_run(runtime, new_run.id, quiet=as_json)

    outcome = run(with_runtime(action))
    if as_json:
        print_json(outcome)
    elif not wait:
        console.print(f"run {outcome['run_id']} queued; a running server executes it")
    if wait and outcome["status"] not in SUCCEEDED:
        raise typer.Exit(1)


def _set_enabled(job_id: str, enabled: bool, as_json: bool) -> None:
    async def action(runtime: Runtime) -> dict[str, Any]:
        async with runtime.transaction() as session:
            return job_dict(await job_service.set_enabled(session, job_id, enabled))

    job = run(with_runtime(action))
    if as_json:
        print_json(job)
    else:
        console.print(f"{job_id} {'enabled' if enabled else 'disabled'}")


@app.command()
def enable(job_id: str, as_json: bool = JsonOption) -> None:
    """Enable a job: its schedule fires and it can be run."""
    _set_enabled(job_id, True, as_json)


@app.command()
def disable(job_id: str, as_json: bool = JsonOption) -> None:
    """Disable a job: no scheduled fires, manual runs refused."""
    _set_enabled(job_id, False, as_json)


@app.command()
def schedule(
    job_id: str,
    interval: Annotated[
        float | None,
        typer.Option(min=MIN_INTERVAL_MINUTES, help="Every N minutes (N ≥ 0.5, i.e. 30 s)"),
    ] = None,
    cron: Annotated[str | None, typer.Option(help="Cron expression, e.g. '*/30 * * * *'")] = None,
    timezone: Annotated[str, typer.Option(help="IANA timezone of the cron")] = "UTC",
    manual: Annotated[bool, typer.Option(help="Remove the schedule")] = False,
    as_json: bool = JsonOption,
) -> None:
    """Set a job's schedule (interval or cron); applies at once, also to a running server."""
    if not manual and interval is None and cron is None:
        raise typer.BadParameter("give --interval, --cron or --manual")

    async def action(runtime: Runtime) -> dict[str, Any]:
        async with runtime.transaction() as session:
            job = await job_service.set_schedule(
                session, job_id, interval_minutes=interval, cron=cron, timezone=timezone
            )
            return job_dict(job)

    job = run(with_runtime(action))
    if as_json:
        print_json(job)
    else:
        console.print(f"{job_id}: next run {when(job['next_run'])}")
