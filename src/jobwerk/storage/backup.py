"""The database part of backups: a consistent copy while the server writes — SQLite through its
online backup API, PostgreSQL through ``pg_dump`` — and loading such a copy into an empty database.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from jobwerk.errors import AppError, InvalidInput

DatabaseKind = Literal["sqlite", "postgresql"]
# Counted into a backup's manifest, and compared after a restore.
COUNTED_TABLES = ("instance", "job", "run", "step_run", "log_entry", "auth_user", "auth_api_key")
TOOL_TIMEOUT = 6 * 3600.0


class DatabaseCopyFailed(AppError):
    """The database could not be copied or loaded; the message says why."""


class DatabaseNotEmpty(InvalidInput):
    """A restore only loads into an empty database."""


@dataclass
class DatabaseCopy:
    """A copy of the database in one file, with what it holds."""

    kind: DatabaseKind
    path: Path
    tool: str
    source: str
    revision: str | None
    counts: dict[str, int] = field(default_factory=dict)


def database_kind(url: str) -> DatabaseKind:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise DatabaseCopyFailed(f"backups support SQLite and PostgreSQL, not {backend}")


def sqlite_file(url: str) -> Path:
    """The file of a SQLite URL.

    Raises:
        DatabaseCopyFailed: an in-memory database.
    """
    database = make_url(url).database
    if database in (None, "", ":memory:"):
        raise DatabaseCopyFailed("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def described(url: str) -> str:
    """The database for messages: a SQLite file, or a PostgreSQL URL without its password."""
    if database_kind(url) == "sqlite":
        return str(sqlite_file(url))
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=True)


def copy_sqlite(url: str, target: Path) -> DatabaseCopy:
    """Copy a SQLite database through the online backup API: one consistent snapshot while
    other processes keep writing (WAL readers do not block writers), checked before it counts.

    Raises:
        DatabaseCopyFailed: the file does not exist, or the copy fails its check.
    """
    source = sqlite_file(url)
    if not source.is_file():
        raise DatabaseCopyFailed(f"no database at {source}: nothing to back up")
    with (
        closing(sqlite3.connect(source, timeout=30)) as origin,
        closing(sqlite3.connect(target)) as copy,
    ):
        origin.backup(copy)
    with closing(sqlite3.connect(target)) as copy:
        check = copy.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise DatabaseCopyFailed(f"the copy of {source} fails SQLite's check: {check}")
        revision, counts = _contents(copy.cursor(), "sqlite")
    version = f"SQLite {sqlite3.sqlite_version} online backup"
    return DatabaseCopy("sqlite", target, version, str(source), revision, counts)


def _contents(cursor: Any, kind: DatabaseKind) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision and the row counts of the counted tables that exist."""
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if kind == "sqlite"
        else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    )
    tables = {row[0] for row in cursor.fetchall()}
    revision = None
    if "alembic_version" in tables:
        cursor.execute("SELECT version_num FROM alembic_version")
        row = cursor.fetchone()
        revision = row[0] if row else None
    counts: dict[str, int] = {}
    for table in COUNTED_TABLES:
        if table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = int(cursor.fetchone()[0])
    return revision, counts


def _libpq(url: str) -> tuple[dict[str, str], str | None]:
    """libpq connection parameters of a SQLAlchemy URL, and the password apart from them (it
    goes to the tools through ``PGPASSWORD``, never onto a command line)."""
    parsed = make_url(url)
    params: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "dbname": parsed.database,
    }
    for key, value in parsed.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return {key: str(value) for key, value in params.items() if value not in (None, "")}, (
        parsed.password if isinstance(parsed.password, str) else None
    )


def _connect(url: str) -> psycopg.Connection[Any]:
    params, password = _libpq(url)
    try:
        return psycopg.connect(make_conninfo(**params), password=password, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = (str(exc).strip().splitlines() or ["no answer"])[0]
        raise DatabaseCopyFailed(f"cannot connect to {described(url)}: {reason}") from None


def _tool(name: str) -> tuple[str, int, str]:
    """The path, major version and version of a PostgreSQL client program.

    Raises:
        DatabaseCopyFailed: it is not installed.
    """
    path = shutil.which(name)
    if path is None:
        raise DatabaseCopyFailed(
            f"{name} is not installed (Debian: apt-get install postgresql-client); it must be "
            "at least as new as the PostgreSQL server"
        )
    output = subprocess.run(
        [path, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    match = re.search(r"\(PostgreSQL\) (\d+)(\.\d+)?", output)
    if match is None:
        raise DatabaseCopyFailed(f"{path} --version says {output.strip()!r}, not a version")
    return path, int(match.group(1)), match.group(1) + (match.group(2) or "")


def _run_tool(command: list[str], password: str | None) -> None:
    environment = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    done = subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=TOOL_TIMEOUT, check=False
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit status {done.returncode}"
        raise DatabaseCopyFailed(f"{Path(command[0]).name} failed: {reason}")


def dump_postgresql(url: str, target: Path) -> DatabaseCopy:
    """Dump a PostgreSQL database with ``pg_dump`` (custom format) from one exported snapshot,
    which the manifest's revision and counts are read from as well.

    Raises:
        DatabaseCopyFailed: no ``pg_dump``, one older than the server, no connection, or the
            dump failed.
    """
    pg_dump, major, version = _tool("pg_dump")
    params, password = _libpq(url)
    with _connect(url) as connection:
        server = connection.info.server_version // 10000
        if major < server:
            raise DatabaseCopyFailed(
                f"pg_dump {version} cannot dump a PostgreSQL {server} server; install "
                f"postgresql-client-{server}"
            )
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = str(cursor.fetchone()[0])  # type: ignore[index]
            revision, counts = _contents(cursor, "postgresql")
            _run_tool(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={make_conninfo(**params)}",
                ],
                password,
            )
    return DatabaseCopy(
        "postgresql", target, f"pg_dump {version}", described(url), revision, counts
    )


def check_empty(url: str) -> None:
    """Raises DatabaseNotEmpty unless ``url`` names a database a restore may write: a SQLite
    file that does not exist, or a PostgreSQL database without tables."""
    if database_kind(url) == "sqlite":
        path = sqlite_file(url)
        if path.exists():
            raise DatabaseNotEmpty(f"{path} already exists; a restore writes a new database")
        return
    with _connect(url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    if row and row[0]:
        raise DatabaseNotEmpty(
            f"the database {described(url)} already has tables; restore into an empty one "
            "(createdb NAME, then JOBWERK_DATABASE__URL pointing at it)"
        )


def load_postgresql(url: str, dump: Path) -> None:
    """Load a ``pg_dump`` archive into an empty database in one transaction: on a failure
    nothing of it stays.

    Raises:
        DatabaseNotEmpty: the database has tables. DatabaseCopyFailed: no ``pg_restore`` or
            it failed.
    """
    pg_restore, _major, _version = _tool("pg_restore")
    check_empty(url)
    params, password = _libpq(url)
    _run_tool(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={make_conninfo(**params)}",
            str(dump),
        ],
        password,
    )
