"""``system.backup``: the engine's own workflow for scheduled backups with retention. No job runs it
until one is made (``jobwerk backup FOLDER --keep N --cron …``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jobwerk.core.backup._manifest import new_archive, prune_backups
from jobwerk.core.backup._write import BackupSource, create_backup
from jobwerk.core.context import Cancelled, StepContext
from jobwerk.core.workflow import Workflow

BACKUP_JOB = "system_backup"


class BackupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    folder: str = Field(
        min_length=1,
        description="Folder for the archives, on the machine that executes the run",
    )
    keep: int = Field(7, ge=1, le=10_000, description="Archives kept; older ones are removed")
    exports: bool = Field(True, description="Include the exports of runs")

    @field_validator("folder")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not Path(value).is_absolute():
            raise ValueError("must be an absolute path (the run may execute on any worker)")
        return value


backup_workflow = Workflow(
    "system.backup",
    BackupParams,
    title="Backup",
    description="One archive of the database, the secret key, certificates, modules and exports, "
    "made while runs go on; keeps the newest ones.",
)


@backup_workflow.step("archive", title="Write the archive", timeout=6 * 3600, resumable=False)
async def archive(ctx: StepContext[BackupParams]) -> dict[str, Any]:
    folder = Path(ctx.params.folder)
    source = BackupSource(ctx.data_dir, ctx.db.url, ctx.box.key, "the running jobwerk")
    loop = asyncio.get_running_loop()

    def progress(files: int, size: int) -> None:
        if ctx.cancelled:
            raise Cancelled("the run was cancelled")
        loop.call_soon_threadsafe(lambda: ctx.progress(files, message=f"{size:,} bytes"))

    result = await ctx.to_thread(
        lambda: create_backup(
            source, new_archive(folder), exports=ctx.params.exports, progress=progress
        )
    )
    ctx.result.update(archive=str(result.path), size_bytes=result.size)
    ctx.info(
        f"wrote {result.path} ({result.size:,} bytes, {len(result.manifest.files)} files) "
        f"in {result.seconds:.1f} s",
        revision=result.manifest.schema_revision,
    )
    return {"archive": str(result.path)}


@backup_workflow.step("prune", title="Remove older archives")
async def prune(ctx: StepContext[BackupParams]) -> dict[str, Any]:
    removed = await ctx.to_thread(prune_backups, Path(ctx.params.folder), ctx.params.keep)
    for path in removed:
        ctx.info(f"removed {path.name}")
    ctx.count("removed", len(removed))
    return {"removed": [path.name for path in removed]}
