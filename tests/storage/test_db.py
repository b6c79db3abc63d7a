"""Storage on SQLite and PostgreSQL: migrations from empty, UTC timestamps, the run guards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from jobwerk.config import Settings
from jobwerk.core import run_service
from jobwerk.storage.db import Database, DatabaseUnavailable, current_revision, upgrade_database
from jobwerk.storage.models import Instance, Job, Run


async def test_migrations_create_every_table_from_an_empty_database(
    db_settings: Settings,
) -> None:
    url = db_settings.database_url
    assert await asyncio.to_thread(current_revision, url) is None
    await asyncio.to_thread(upgrade_database, url)
    assert await asyncio.to_thread(current_revision, url) is not None
    db = Database(url)
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        run_indexes = await connection.run_sync(
            lambda sync: {index["name"] for index in inspect(sync).get_indexes("run")}
        )
    await db.dispose()
    assert {"instance", "job", "run", "step_run", "log_entry"} <= tables
    assert {"ix_run_status_created", "ix_run_workflow_created", "uq_run_active_job"} <= run_indexes


@pytest.fixture
async def db(db_settings: Settings) -> AsyncIterator[Database]:
    await asyncio.to_thread(upgrade_database, db_settings.database_url)
    database = Database(db_settings.database_url)
    yield database
    await database.dispose()


async def test_timestamps_come_back_as_the_same_utc_instant(db: Database) -> None:
    moment = datetime(2026, 7, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    async with db.session() as session:
        session.add(Run(id="a" * 32, workflow="demo.example", created_at=moment))
    async with db.session() as session:
        run = await session.get_one(Run, "a" * 32)
    assert run.created_at == moment
    assert run.created_at.tzinfo == UTC


async def test_one_active_run_per_job_is_enforced_by_the_database(db: Database) -> None:
    async with db.session() as session:
        session.add(Job(id="sync", workflow="demo.example"))
        session.add(Run(workflow="demo.example", job_id="sync", status="running"))
        session.add(Run(workflow="demo.example", job_id="sync", status="completed"))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(Run(workflow="demo.example", job_id="sync", status="queued"))


async def test_one_primary_instance_per_module(db: Database) -> None:
    async with db.session() as session:
        session.add(Instance(module="temu", name="DE", is_primary=True))
        session.add(Instance(module="temu", name="FR", is_primary=False))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(Instance(module="temu", name="IT", is_primary=True))


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(settings: Settings) -> None:
    db = Database(settings.database_url)
    async with db.engine.connect() as connection:
        mode = await connection.scalar(text("PRAGMA journal_mode"))
        keys = await connection.scalar(text("PRAGMA foreign_keys"))
    await db.dispose()
    assert (mode, keys) == ("wal", 1)


async def test_a_read_session_sees_committed_rows_and_refuses_to_write(db: Database) -> None:
    async with db.write() as session:
        session.add(Run(id="b" * 32, workflow="demo.example"))
    async with db.read() as session:
        assert (await session.get_one(Run, "b" * 32)).workflow == "demo.example"
        session.add(Run(id="c" * 32, workflow="demo.example"))
        with pytest.raises(InvalidRequestError, match="read-only"):
            await session.flush()
    async with db.session() as session:
        assert await session.get(Run, "c" * 32) is None


async def test_a_read_session_opens_no_transaction_on_sqlite_and_a_read_only_one_on_postgresql(
    db: Database,
) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engines = {db.engine.sync_engine, db.read_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        async with db.read() as session:
            if db.is_sqlite:
                assert await session.scalar(text("SELECT count(*) FROM run")) == 0
            else:
                assert await session.scalar(text("SHOW transaction_read_only")) == "on"
        async with db.session() as session:
            await session.scalar(text("SELECT 1"))
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    if db.is_sqlite:
        assert statements == ["SELECT count(*) FROM run", "BEGIN", "SELECT 1"]


async def test_a_runs_page_and_its_total_come_from_one_read(db: Database) -> None:
    start = datetime(2026, 7, 1, tzinfo=UTC)
    async with db.write() as session:
        session.add_all(
            Run(workflow="demo.example", status=status, created_at=start + timedelta(minutes=i))
            for i, status in enumerate(["completed", "failed", "completed"])
        )
    async with db.read() as session:
        rows, total = await run_service.list_run_rows(
            session, run_service.RunFilter(status=["completed"], limit=1)
        )
        assert (total, [row.created_at for row in rows]) == (2, [start + timedelta(minutes=2)])
        rows, total = await run_service.list_run_rows(session, run_service.RunFilter(offset=5))
        assert (rows, total) == ([], 3)


async def test_a_database_that_does_not_answer_is_named_in_the_error(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.check()

    async def silent() -> None:
        await asyncio.sleep(5)

    monkeypatch.setattr(db, "ping", silent)
    with pytest.raises(DatabaseUnavailable, match=r"does not answer \(no answer within 0.1 s\)"):
        await db.check(0.1)
