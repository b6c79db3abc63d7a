"""Database engines, sessions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from jobwerk.errors import AppError

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseUnavailable(AppError):
    status = 503


# Read-only sessions on a SQLite file use their own pool of this many connections and no
# overflow: each connection is a driver thread, and more busy ones mostly contend with the
# event loop for the GIL (measured: 2 serve a runs list ~30 % faster than 15).
SQLITE_READ_CONNECTIONS = 2


def async_url(url: str) -> str:
    """Map a plain database URL onto the async driver jobwerk uses."""
    parsed = make_url(url)
    drivers = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
    if parsed.drivername in drivers:
        parsed = parsed.set(drivername=drivers[parsed.drivername])
    if parsed.drivername in ("postgres", "postgresql+asyncpg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (Alembic runs synchronously)."""
    parsed = make_url(async_url(url))
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file (the data folder on first start)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, a busy timeout and explicit BEGINs (IMMEDIATE for writers; none for
    read-only sessions, whose statements each read their own snapshot)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get("sqlite_autocommit", False):
            return
        immediate = options.get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class ReadOnlySession(Session):
    """The session of ``Database.read()``: it refuses to flush changes."""


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(_session: Session, _context: Any, _instances: Any) -> None:
    # Without a transaction on SQLite, writes would not be atomic; use Database.write().
    raise InvalidRequestError("a read-only session cannot write; use Database.write()")


class Database:
    """One engine with read-only, reader and writer session factories.

    On SQLite a writer transaction starts with ``BEGIN IMMEDIATE`` so it waits for the lock
    instead of failing when it upgrades from read to write; on PostgreSQL both are the same.
    A read-only session opens no transaction on SQLite (no BEGIN/COMMIT round trips through
    the driver's thread) and a ``READ ONLY`` one on PostgreSQL; on a SQLite file it draws
    from ``read_engine``, a small pool of its own, so hold one only briefly.
    """

    def __init__(self, url: str, *, pool_size: int = 5, echo: bool = False) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        # Bound values (password hashes, tokens, stored settings) never go into error messages.
        options: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            ensure_sqlite_folder(self.url)
            options["connect_args"] = {"timeout": 30}
        else:
            options.update(pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)
        self.engine = create_async_engine(self.url, **options)
        self.read_engine = self.engine
        writer_engine = self.engine
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            writer_engine = self.engine.execution_options(sqlite_immediate=True)
            if make_url(self.url).database not in (None, "", ":memory:"):
                # These connections never open a transaction: no ROLLBACK round trips.
                self.read_engine = create_async_engine(
                    self.url,
                    **options,
                    pool_size=SQLITE_READ_CONNECTIONS,
                    max_overflow=0,
                    isolation_level="AUTOCOMMIT",
                    skip_autocommit_rollback=True,
                    pool_reset_on_return=None,
                )
                _configure_sqlite(self.read_engine)
            reader_engine = self.read_engine.execution_options(sqlite_autocommit=True)
        else:
            reader_engine = self.engine.execution_options(postgresql_readonly=True)
        self._read_only = async_sessionmaker(
            reader_engine, expire_on_commit=False, sync_session_class=ReadOnlySession
        )
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(writer_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only; it cannot flush changes.

        On SQLite each statement reads its own consistent snapshot, so a view that needs
        several queries to agree should ask them in one statement.
        """
        async with self._read_only() as session:
            yield session

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads (and writes that start with a write); commits on success."""
        async with self._read() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session for read-then-write transactions; commits on success."""
        async with self._write() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def check(self, seconds: float = 10.0) -> None:
        """Raises DatabaseUnavailable, naming the database (not its password), when it does
        not answer within ``seconds``."""
        try:
            await asyncio.wait_for(self.ping(), seconds)
        except Exception as exc:
            where = make_url(self.url).render_as_string(hide_password=True)
            text = str(getattr(exc, "orig", None) or exc).strip()
            reason = text.splitlines()[0] if text else f"no answer within {seconds:g} s"
            raise DatabaseUnavailable(
                f"The database {where} does not answer ({reason}). "
                "Check JOBWERK_DATABASE__URL and that the database server is running."
            ) from exc

    async def upgrade(self) -> None:
        """Apply all Alembic migrations (in a thread: Alembic is synchronous)."""
        await asyncio.to_thread(upgrade_database, self.url)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def alembic_config(url: str, metadata: MetaData | None = None) -> Config:
    """Alembic's configuration for ``url``; ``metadata`` (every table, which the layers above
    storage define) is what autogenerate compares the database with."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    config.attributes["target_metadata"] = metadata
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


def autogenerate_revision(url: str, message: str, metadata: MetaData) -> list[Path]:
    """Write a migration from the difference between ``metadata`` and the database at ``url``
    (upgraded to the latest revision first); returns the files written."""
    upgrade_database(url)
    written = command.revision(alembic_config(url, metadata), message, autogenerate=True)
    scripts = written if isinstance(written, list) else [written]
    return [Path(script.path) for script in scripts if script is not None]


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Migration:
    """One Alembic revision: its id and the first line of its docstring."""

    revision: str
    description: str


class UnknownRevision(AppError):
    """The database is at a revision this jobwerk's migrations do not know: a newer jobwerk
    migrated it."""


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    """The newest revision this jobwerk's migrations know."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def knows_revision(revision: str | None) -> bool:
    """True for ``None`` (an empty database) and for every revision of this jobwerk."""
    return revision is None or revision in {
        script.revision for script in _scripts().walk_revisions()
    }


def pending_migrations(url: str) -> tuple[str | None, list[Migration]]:
    """The database's revision and the migrations ``upgrade_database`` would apply, oldest
    first; nothing is changed.

    Raises:
        UnknownRevision: the database's revision is not one of this jobwerk's.
    """
    database = make_url(url).database
    missing = make_url(url).get_backend_name() == "sqlite" and not (
        database and database != ":memory:" and Path(database).exists()
    )
    current = None if missing else current_revision(url)  # connecting would create the file
    if not knows_revision(current):
        raise UnknownRevision(
            f"the database is at revision {current}, which this jobwerk does not know (its "
            f"newest is {head_revision()}): a newer jobwerk migrated it; install that version"
        )
    scripts = _scripts().iterate_revisions("head", current or "base")
    pending = [Migration(script.revision, script.doc) for script in scripts]
    return current, pending[::-1]
