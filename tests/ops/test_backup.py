"""A backup made while a run executes restores into an empty data folder (and database) that the
engine starts on: every run, job, instance and secret as it was, the run that was executing
interrupted and retryable. On SQLite (online backup API) and PostgreSQL (pg_dump)."""

from __future__ import annotations

import asyncio
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobwerk.config import Settings
from jobwerk.core import run_service
from jobwerk.core.backup import (
    BACKUP_JOB,
    BackupSource,
    RestoreTarget,
    create_backup,
    restore_backup,
    verify_backup,
)
from jobwerk.core.instances import create_instance, instance_config
from jobwerk.core.job_service import save_job, trigger_job
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import RunStatus
from jobwerk.modules.demo import module as demo_module
from jobwerk.modules.docs.models import DocsCredential
from jobwerk.modules.registry import register_module
from jobwerk.modules.temu import module as temu_module
from jobwerk.storage.auth_models import ApiKey, User
from jobwerk.storage.models import Instance, Job, LogEntry, Run, StepRun
from tests.support.engine import start, wait_for

TEMU = {
    "app_key": "shop-key",
    "app_secret": "app-secret-17",
    "access_token": "token-17",
    "jtl_url": "mssql+pymssql://sa:jtl-password-17@wawi/eazybusiness",
}
SCRAPER_PASSWORD = "scraper-password-17"
COUNTED = {
    "instance": Instance,
    "job": Job,
    "run": Run,
    "step_run": StepRun,
    "log_entry": LogEntry,
    "auth_user": User,
    "auth_api_key": ApiKey,
}


@pytest.fixture
def restore_settings(
    db_settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    """An empty data folder and, on PostgreSQL, another empty database."""
    url = None if db_settings.is_sqlite else request.getfixturevalue("restore_pg_url")
    return db_settings.model_copy(
        update={
            "data_dir": tmp_path / "restored",
            "database": db_settings.database.model_copy(update={"url": url}),
        }
    )


async def _fill(runtime: Runtime) -> tuple[str, str]:
    """A TEMU instance and a scraper credential (secrets), a finished run with an export and a
    run that keeps executing; returns the two run ids."""
    async with runtime.transaction() as session:
        await create_instance(session, runtime.box, "temu", temu_module.settings_model, "DE", TEMU)
        session.add(
            DocsCredential(
                name="intranet",
                host="docs.example.org",
                auth_type="basic",
                secrets=runtime.box.seal({"password": SCRAPER_PASSWORD}),
            )
        )
    finished = await start(runtime, "demo.example", items=3, delay=0)
    await wait_for(runtime, finished, RunStatus.COMPLETED)
    export = runtime.settings.data_dir / "exports" / finished / "report.md"
    export.parent.mkdir(parents=True)
    export.write_text("# report\n")
    executing = await start(runtime, "demo.example", items=100_000, delay=0.01)
    await wait_for(runtime, executing, RunStatus.RUNNING)
    return finished, executing


async def _counts(runtime: Runtime) -> dict[str, int]:
    async with runtime.db.session() as session:
        return {
            table: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for table, model in COUNTED.items()
        }


async def _cancel(runtime: Runtime, run_id: str) -> None:
    async with runtime.transaction() as session:
        await run_service.cancel_run(session, run_id)
    await wait_for(runtime, run_id, RunStatus.CANCELLED)


async def test_a_backup_made_while_a_run_executes_restores_with_every_record_and_secret(
    runtime: Runtime, db_settings: Settings, restore_settings: Settings, tmp_path: Path
) -> None:
    finished, executing = await _fill(runtime)
    source = BackupSource(db_settings.data_dir, db_settings.database_url, runtime.box.key, "test")
    archive = tmp_path / "backups" / "jobwerk.tar.gz"

    made = await asyncio.to_thread(create_backup, source, archive)

    async with runtime.db.session() as session:
        still = await run_service.get_run(session, executing)
    assert still.status == RunStatus.RUNNING  # the backup did not get in its way
    await _cancel(runtime, executing)
    assert verify_backup(archive).files == made.manifest.files
    assert made.manifest.database.kind == ("sqlite" if db_settings.is_sqlite else "postgresql")
    assert made.manifest.database.tool.startswith("SQLite" if db_settings.is_sqlite else "pg_dump")
    assert f"data/exports/{finished}/report.md" in made.manifest.files

    restored = await restore_backup(archive, RestoreTarget.from_settings(restore_settings))

    assert restored.interrupted == [executing]
    again = Runtime(restore_settings)
    register_module(again, "demo", demo_module)
    await again.start(scheduler=False)
    try:
        assert await _counts(again) == made.manifest.database.counts
        async with again.db.session() as session:
            instance = (await session.scalars(select(Instance))).one()
            credential = (await session.scalars(select(DocsCredential))).one()
        settings = instance_config(again.box, instance).settings
        assert {key: settings[key] for key in TEMU} == TEMU
        assert again.box.open(credential.secrets) == {"password": SCRAPER_PASSWORD}
        export = restore_settings.data_dir / "exports" / finished / "report.md"
        assert export.read_text() == "# report\n"
        old = await wait_for(again, finished)
        assert old.status == RunStatus.COMPLETED and len(old.steps) == 3
        interrupted = await wait_for(again, executing)
        assert (interrupted.status, interrupted.reason) == (RunStatus.FAILED, "interrupted")
        async with again.transaction() as session:
            retry = await run_service.retry_run(session, again.workflows, executing)
        assert retry.retry_of_run_id == executing
        await _cancel(again, retry.id)
        fresh = await start(again, "demo.example", items=2, delay=0)
        assert (await wait_for(again, fresh)).status == RunStatus.COMPLETED
    finally:
        await again.stop()


async def test_the_backup_job_keeps_the_newest_archives_without_exports(
    runtime: Runtime, db_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("not an archive: never removed")
    export = db_settings.data_dir / "exports" / ("a" * 32) / "big.pdf"
    export.parent.mkdir(parents=True)
    export.write_bytes(b"%PDF-1.7 ...")
    params = {"folder": str(folder), "keep": 2, "exports": False}
    async with runtime.transaction() as session:
        await save_job(
            session, runtime.workflows, BACKUP_JOB, "system.backup", params=params, cron="0 3 * * *"
        )

    for _ in range(3):
        async with runtime.transaction() as session:
            started = await trigger_job(session, runtime.workflows, BACKUP_JOB)
        run = await wait_for(runtime, started.id, within=60)
        assert run.status == RunStatus.COMPLETED, run.error
    last = run

    inside = {"folder": str(export.parent)}  # where the exports API would hand it out
    async with runtime.transaction() as session:
        started = await trigger_job(session, runtime.workflows, BACKUP_JOB, inside)
    refused = await wait_for(runtime, started.id, within=60)
    assert refused.status == RunStatus.FAILED and "outside the data folder" in str(refused.error)
    assert [path.name for path in export.parent.iterdir()] == ["big.pdf"]

    archives = sorted(str(path) for path in folder.glob("jobwerk-backup-*.tar.gz"))
    assert len(archives) == 2 and (folder / "notes.txt").exists()
    assert last.result["archive"] in archives
    manifest = verify_backup(Path(last.result["archive"]))
    assert not manifest.exports
    with tarfile.open(last.result["archive"]) as tar:
        assert not [name for name in tar.getnames() if name.startswith("data/exports/")]
    assert any(line.startswith("exports:") for line in manifest.skipped)
