"""``jobwerk db``: migrations."""

from __future__ import annotations

import asyncio

import typer

from jobwerk.cli._output import console
from jobwerk.cli._runtime import settings
from jobwerk.storage.db import current_revision, upgrade_database

app = typer.Typer(no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply all migrations to the configured database."""
    url = settings().database_url
    upgrade_database(url)
    console.print(f"database at revision {current_revision(url)}")


@app.command()
def current() -> None:
    """Show the database's migration revision."""
    console.print(str(asyncio.run(asyncio.to_thread(current_revision, settings().database_url))))
