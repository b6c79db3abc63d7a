"""``jobwerk backup`` and ``jobwerk restore``: one archive of what a data folder needs, made while
the server runs; restored into an empty folder that ``jobwerk serve`` starts on."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from jobwerk.cli._output import JsonOption, console, errors, print_json, when
from jobwerk.cli._runtime import run, settings, with_runtime
from jobwerk.config import Settings
from jobwerk.core import job_service
from jobwerk.core.backup import (
    BACKUP_JOB,
    BackupResult,
    BackupSource,
    Manifest,
    RestoreResult,
    RestoreTarget,
    backup_workflow,
    create_backup,
    new_archive,
    prune_backups,
    restore_backup,
    verify_backup,
)
from jobwerk.core.runtime import Runtime
from jobwerk.errors import AppError
from jobwerk.storage.models import Job

T = TypeVar("T")
COUNTED = {
    "instance": "instances",
    "job": "jobs",
    "run": "runs",
    "auth_user": "users",
    "auth_api_key": "API keys",
}
KEY_WARNING = (
    "The archive holds the secret key that decrypts every stored secret: keep it as safe as "
    "the server (it is written readable by its owner only)."
)


def backup(
    target: Annotated[
        str,
        typer.Argument(
            help="The archive to write (.tar.gz), or a folder (an existing one, a name ending "
            "in /, or with --keep, --cron, --interval) for archives named by date",
            show_default=False,
        ),
    ],
    exports: Annotated[
        bool, typer.Option("--exports/--no-exports", help="Include the exports of runs")
    ] = True,
    keep: Annotated[
        int | None,
        typer.Option(min=1, help="With a folder: keep this many archives, remove older ones"),
    ] = None,
    cron: Annotated[
        str | None,
        typer.Option(help="Back up on this cron schedule instead of now (job system_backup)"),
    ] = None,
    interval: Annotated[
        float | None,
        typer.Option(min=1, help="Back up every N minutes instead of now (job system_backup)"),
    ] = None,
    timezone: Annotated[str, typer.Option(help="Time zone of --cron")] = "UTC",
    as_json: bool = JsonOption,
) -> None:
    """Back up the database, secret key, certificates, modules and exports into one archive,
    while the server runs and runs execute."""
    path = Path(target)
    folder = path.is_dir() or target.endswith("/")
    if keep is not None or cron is not None or interval is not None:
        if path.is_file() or target.endswith((".tar.gz", ".tgz")):
            _bad_input("--keep, --cron and --interval need a folder to write archives into")
        folder = True
    if cron is not None and interval is not None:
        _bad_input("give --cron or --interval, not both")
    loaded = settings()
    if path.absolute().resolve().is_relative_to(loaded.data_dir.resolve()):
        _bad_input(f"write the archives outside the data folder {loaded.data_dir}")
    if cron is not None or interval is not None:
        params = {"folder": str(path.absolute()), "keep": keep or 7, "exports": exports}
        job = run(
            with_runtime(lambda runtime: _schedule(runtime, params, cron, interval, timezone))
        )
        _print_job(job, as_json)
        return
    archive = new_archive(path) if folder else path
    result = run(_guarded(asyncio.to_thread(_write, loaded, archive, exports)))
    removed = prune_backups(path, keep) if keep is not None else []
    if as_json:
        print_json(_summary(result.manifest) | _written(result, removed))
        return
    _print_backup(result, removed)


def restore(
    archive: Annotated[Path, typer.Argument(help="A jobwerk backup archive", show_default=False)],
    check: Annotated[
        bool,
        typer.Option("--check", help="Only check the archive (checksums, schema); write nothing"),
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Restore a backup into an empty data folder (JOBWERK_DATA_DIR) and, on PostgreSQL, an empty
    database; then `jobwerk serve` starts on it."""
    loaded = settings()
    if check:
        manifest = run(_guarded(asyncio.to_thread(verify_backup, archive)))
        if as_json:
            print_json(_summary(manifest) | {"checked": True})
            return
        _say(f"{archive}: sound, {len(manifest.files):,} checksums match")
        _print_origin(manifest)
        return
    target = RestoreTarget.from_settings(loaded)
    result = run(_guarded(restore_backup(archive, target)))
    if as_json:
        print_json(
            _summary(result.manifest)
            | {"data_dir": str(loaded.data_dir.absolute()), "revision": result.revision}
            | {"interrupted": result.interrupted}
        )
        return
    _print_restore(archive, loaded, result)


def _say(text: str) -> None:
    """One line as it is: paths are neither wrapped nor coloured."""
    console.print(text, highlight=False, soft_wrap=True)


def _bad_input(message: str) -> NoReturn:
    errors.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(2)


async def _guarded(coroutine: Coroutine[Any, Any, T]) -> T:
    """A file that cannot be read or written (a full disk, a folder without permission) is
    one line, not a traceback."""
    try:
        return await coroutine
    except OSError as exc:
        raise AppError(f"{exc.filename or 'a file'}: {exc.strerror or exc}") from None


def _write(loaded: Settings, path: Path, exports: bool) -> BackupResult:
    return create_backup(BackupSource.from_settings(loaded), path, exports=exports)


async def _schedule(
    runtime: Runtime,
    params: dict[str, Any],
    cron: str | None,
    interval: float | None,
    timezone: str,
) -> Job:
    async with runtime.transaction() as session:
        return await job_service.save_job(
            session,
            runtime.workflows,
            BACKUP_JOB,
            backup_workflow.name,
            params=params,
            title="Backup of the data folder",
            interval_minutes=interval,
            cron=cron,
            timezone=timezone,
            replace=True,
        )


def _summary(manifest: Manifest) -> dict[str, Any]:
    summary = manifest.model_dump(mode="json", exclude={"files"})
    return summary | {"files": len(manifest.files)}


def _written(result: BackupResult, removed: list[Path]) -> dict[str, Any]:
    return {
        "path": str(result.path),
        "size": result.size,
        "seconds": round(result.seconds, 3),
        "removed": [str(path) for path in removed],
    }


def _counts(manifest: Manifest) -> str:
    counts = manifest.database.counts
    return ", ".join(
        f"{counts[table]:,} {word}" for table, word in COUNTED.items() if table in counts
    )


def _database(manifest: Manifest) -> str:
    kind = "SQLite" if manifest.database.kind == "sqlite" else "PostgreSQL"
    return f"{kind} {manifest.database.source} ({manifest.database.tool})"


def _print_backup(result: BackupResult, removed: list[Path]) -> None:
    manifest = result.manifest
    megabytes = result.size / 1_000_000
    _say(
        f"wrote {result.path}: {megabytes:,.1f} MB, {len(manifest.files):,} files "
        f"in {result.seconds:.1f} s",
    )
    _say(f"  database  {_database(manifest)}, revision {manifest.schema_revision}")
    _say(f"            {_counts(manifest)}")
    _say(f"  key       from {manifest.key_source}")
    for line in manifest.skipped:
        _say(f"  left out  {line}")
    for path in removed:
        _say(f"  removed   {path.name} (--keep)")
    _say(KEY_WARNING)


def _print_origin(manifest: Manifest) -> None:
    _say(
        f"  made {when(manifest.created_at)} on {manifest.host} by jobwerk "
        f"{manifest.jobwerk_version}",
    )
    _say(f"  database  {_database(manifest)}, revision {manifest.schema_revision}")
    _say(f"            {_counts(manifest)}")


def _print_restore(archive: Path, loaded: Settings, result: RestoreResult) -> None:
    _say(
        f"restored {archive} into {loaded.data_dir.absolute()}: {result.files:,} files, "
        f"every checksum verified; database now at revision {result.revision}",
    )
    _print_origin(result.manifest)
    if result.interrupted:
        _say(
            f"  {len(result.interrupted)} run(s) were executing when the backup was taken: now "
            "failed/interrupted, `jobwerk runs retry ID` runs them again",
        )
        for run_id in result.interrupted:
            _say(f"    {run_id}")
    _say("start it: jobwerk serve")


def _print_job(job: Job, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "job_id": job.id,
                "workflow": job.workflow,
                "params": job.params,
                "cron": job.cron,
                "interval_minutes": job.interval_minutes,
                "timezone": job.timezone,
                "enabled": job.enabled,
                "next_run_at": job.next_run_at,
            }
        )
        return
    schedule = (
        f"cron '{job.cron}' ({job.timezone})" if job.cron else f"every {job.interval_minutes:g} min"
    )
    _say(
        f"job {job.id}: {schedule}, next at {when(job.next_run_at)}; keeps "
        f"{job.params['keep']} archives in {job.params['folder']}",
    )
    _say(
        "It runs in whichever jobwerk process executes runs (a worker on PostgreSQL): the "
        f"folder is on that machine. Stop it with `jobwerk jobs disable {job.id}`.",
    )
