"""Executes a run in this process and shows its steps live (``jobs run --wait``)."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.live import Live
from rich.table import Table

from jobwerk.cli._output import console
from jobwerk.core import run_service
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import RunStatus
from jobwerk.storage.models import Run

STATUS_STYLE = {
    "completed": "green",
    "completed_with_warnings": "yellow",
    "failed": "red",
    "cancelled": "yellow",
    "running": "cyan",
    "skipped": "dim",
    "pending": "dim",
    "queued": "dim",
}


def _render(run: Run) -> Table:
    view = Table(
        title=f"run {run.id} · {run.workflow} · {run.status} · {run.progress:.0f}%",
        title_justify="left",
    )
    for column in ("step", "status", "progress", "attempt", "message"):
        view.add_column(column)
    for step in run.steps:
        bar = "█" * int(step.progress / 5) + "·" * (20 - int(step.progress / 5))
        style = STATUS_STYLE.get(step.status, "")
        view.add_row(
            step.name,
            f"[{style}]{step.status}[/]",
            f"{bar} {step.progress:3.0f}%",
            str(step.attempt),
            step.error or step.message or "",
        )
    return view


async def watch_run(runtime: Runtime, run_id: str, *, quiet: bool = False) -> dict[str, Any]:
    """Start an executor here (whoever claims the run first executes it) and follow the run."""
    await runtime.executor.start()
    runtime.executor.submit(run_id)
    try:
        with Live(console=console, transient=quiet, auto_refresh=False) as live:
            while True:
                async with runtime.db.session() as session:
                    run = await run_service.get_run(session, run_id, with_steps=True)
                if not quiet:
                    live.update(_render(run), refresh=True)
                if RunStatus(run.status).finished:
                    break
                await asyncio.sleep(0.2)
    finally:
        await runtime.executor.stop()
    if not quiet and run.error:
        console.print(f"[red]{run.error}[/]")
    return {"run_id": run.id, "status": run.status, "error": run.error, "result": run.result}
