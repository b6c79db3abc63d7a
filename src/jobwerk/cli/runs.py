"""``jobwerk runs``: list, show, logs, cancel and retry runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from jobwerk.cli._output import JsonOption, console, print_json, table, when
from jobwerk.cli._runtime import cli_actor, run, with_runtime
from jobwerk.core import exports, run_service
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import RunStatus
from jobwerk.storage.models import Run

app = typer.Typer(no_args_is_help=True)


def run_dict(item: Run, *, steps: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id,
        "workflow": item.workflow,
        "job_id": item.job_id,
        "instance_id": item.instance_id,
        "status": item.status,
        "trigger": item.trigger,
        "started_by": item.started_by,
        "progress": item.progress,
        "params": item.params,
        "reason": item.reason,
        "error": item.error,
        "result": item.result,
        "retry_of_run_id": item.retry_of_run_id,
        "created_at": item.created_at,
        "started_at": item.started_at,
        "finished_at": item.finished_at,
        "duration_seconds": item.duration_seconds,
    }
    if steps:
        data["steps"] = [
            {
                "name": step.name,
                "status": step.status,
                "attempt": step.attempt,
                "progress": step.progress,
                "done": step.done,
                "total": step.total,
                "counters": step.counters,
                "error": step.error,
            }
            for step in item.steps
        ]
    return data


@app.command("list")
def list_runs(
    status: Annotated[list[RunStatus] | None, typer.Option(help="Filter by status")] = None,
    workflow: Annotated[str | None, typer.Option()] = None,
    instance: Annotated[str | None, typer.Option(help="Instance id")] = None,
    since: Annotated[datetime | None, typer.Option(help="Created at or after")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: bool = JsonOption,
) -> None:
    """Show the newest runs."""
    query = run_service.RunFilter(tuple(status or ()), workflow, instance, None, since, limit)

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.session() as session:
            rows, _ = await run_service.list_runs(session, query)
            return [run_dict(row) for row in rows]

    runs = run(with_runtime(action))
    if as_json:
        print_json(runs)
        return
    table(
        "Runs",
        ["id", "workflow", "job", "status", "progress", "created"],
        [
            [
                r["id"],
                r["workflow"],
                r["job_id"],
                r["status"],
                f"{r['progress']:.0f}%",
                when(r["created_at"]),
            ]
            for r in runs
        ],
    )


@app.command()
def show(run_id: str, as_json: bool = JsonOption) -> None:
    """Show one run with its steps and result."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        async with runtime.db.session() as session:
            return run_dict(await run_service.get_run(session, run_id, with_steps=True), steps=True)

    data = run(with_runtime(action))
    if as_json:
        print_json(data)
        return
    console.print(
        f"[bold]{data['id']}[/] {data['workflow']} — {data['status']} ({data['progress']:.0f}%)",
        highlight=False,
    )
    console.print(
        f"started by {data['started_by'] or data['trigger']} ({data['trigger']}), "
        f"queued {when(data['created_at'])}",
        highlight=False,
    )
    if data["params"]:
        console.print("parameters: " + ", ".join(f"{k}={v}" for k, v in data["params"].items()))
    if data["error"]:
        console.print(f"[red]{data['error']}[/]", highlight=False)
    table(
        "Steps",
        ["step", "status", "attempt", "progress", "error"],
        [
            [s["name"], s["status"], s["attempt"], f"{s['progress']:.0f}%", s["error"]]
            for s in data["steps"]
        ],
    )
    result = dict(data["result"])
    warnings, counts = result.pop("warnings", []), result.pop("counts", {})
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    if counts:
        table("Counts", ["count", "value"], [[k.replace("_", " "), v] for k, v in counts.items()])
    if result:
        print_json(result)


@app.command()
def logs(
    run_id: str,
    level: Annotated[str | None, typer.Option(help="Minimum level")] = None,
    step: Annotated[str | None, typer.Option()] = None,
    text: Annotated[str | None, typer.Option(help="Only lines containing this")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 500,
    as_json: bool = JsonOption,
) -> None:
    """Show a run's log lines."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.session() as session:
            rows, _ = await run_service.list_logs(
                session, run_id, level=level, step=step, text=text, limit=limit
            )
            return [
                {
                    "id": row.id,
                    "timestamp": row.created_at,
                    "level": row.level,
                    "step": row.step,
                    "message": row.message,
                    "data": row.data,
                }
                for row in rows
            ]

    lines = run(with_runtime(action))
    if as_json:
        print_json(lines)
        return
    for line in lines:
        console.print(
            f"{when(line['timestamp'])} {line['level']:<7} "
            f"[{line['step'] or '-'}] {line['message']}",
            markup=False,
        )


@app.command()
def cancel(run_id: str, as_json: bool = JsonOption) -> None:
    """Cancel a queued run, or ask a running one to stop."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        async with runtime.transaction() as session:
            return run_dict(await run_service.cancel_run(session, run_id))

    data = run(with_runtime(action))
    if as_json:
        print_json(data)
    else:
        console.print(
            f"run {data['id']}: {data['status']}"
            + (" (stopping)" if data["status"] == "running" else "")
        )


@app.command()
def delete(run_id: str, as_json: bool = JsonOption) -> None:
    """Delete a finished run with its steps, logs and export files (an active one is cancelled
    instead), as ``DELETE /api/v1/jobs/{id}`` does."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        whole_id, action, status = await exports.cancel_or_delete_run(runtime, run_id)
        return {"id": whole_id, "action": action, "status": status}

    data = run(with_runtime(action))
    if as_json:
        print_json(data)
    else:
        console.print(f"run {data['id']} {data['action']}")


@app.command()
def retry(run_id: str, as_json: bool = JsonOption) -> None:
    """Retry a failed or cancelled run as a new run that skips completed steps."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        async with runtime.transaction() as session:
            return run_dict(
                await run_service.retry_run(
                    session, runtime.workflows, run_id, started_by=cli_actor()
                )
            )

    data = run(with_runtime(action))
    if as_json:
        print_json(data)
    else:
        console.print(f"run {data['id']} queued as a retry of {data['retry_of_run_id']}")
