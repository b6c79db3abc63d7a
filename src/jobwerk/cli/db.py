"""``jobwerk db``: migrations."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from sqlalchemy import MetaData

from jobwerk.cli._output import JsonOption, console, print_json
from jobwerk.cli._runtime import run, settings
from jobwerk.storage.db import (
    Migration,
    autogenerate_revision,
    current_revision,
    head_revision,
    pending_migrations,
    upgrade_database,
)

app = typer.Typer(no_args_is_help=True)


@app.command()
def upgrade(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the migrations it would apply; change nothing")
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Apply all migrations to the configured database."""
    url = settings().database_url
    if dry_run:
        _print_pending(*run(asyncio.to_thread(pending_migrations, url)), as_json)
        return
    upgrade_database(url)
    console.print(f"database at revision {current_revision(url)}")


def _print_pending(current: str | None, pending: list[Migration], as_json: bool) -> None:
    if as_json:
        print_json(
            {"current": current, "head": head_revision(), "pending": [vars(m) for m in pending]}
        )
        return
    where = f"at revision {current}" if current else "empty"
    if not pending:
        console.print(
            f"database {where}: up to date, nothing to apply", highlight=False, soft_wrap=True
        )
        return
    console.print(
        f"database {where}; `jobwerk db upgrade` (or the next start) would apply "
        f"{len(pending)} migration(s):",
        highlight=False,
        soft_wrap=True,
    )
    for migration in pending:
        console.print(
            f"  {migration.revision}  {migration.description}", highlight=False, soft_wrap=True
        )


@app.command()
def current() -> None:
    """Show the database's migration revision."""
    console.print(str(asyncio.run(asyncio.to_thread(current_revision, settings().database_url))))


def all_tables() -> MetaData:
    """Every table jobwerk's own migrations create: the engine's and the auth tables, the module
    manager's and those of the modules shipped with jobwerk (importing a model file registers
    its tables)."""
    from jobwerk.manager import models as _manager  # noqa: F401
    from jobwerk.modules.docs import models as _docs  # noqa: F401
    from jobwerk.modules.temu import models as _temu  # noqa: F401
    from jobwerk.storage import auth_models as _auth  # noqa: F401
    from jobwerk.storage.models import Base

    return Base.metadata


@app.command()
def revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What it changes")],
) -> None:
    """Write a new migration from the difference between the models and the configured database
    (for developers; the database is upgraded first)."""
    for path in autogenerate_revision(settings().database_url, message, all_tables()):
        console.print(f"wrote {path}")
