"""``jobwerk repos``: the catalogs modules are installed from (folders or HTTPS servers)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobwerk.cli._output import JsonOption, console, print_json, table
from jobwerk.cli._runtime import run
from jobwerk.cli.modules import with_manager
from jobwerk.manager import repositories, views
from jobwerk.manager.module_manager import ModuleManager

app = typer.Typer(no_args_is_help=True)


@app.command()
def add(
    repository_id: str,
    url: Annotated[str, typer.Argument(help="file:///absolute/folder or https://host/path")],
    name: Annotated[str | None, typer.Option(help="A display name")] = None,
    ca_file: Annotated[str | None, typer.Option(help="PEM file of a private CA to trust")] = None,
) -> None:
    """Add a repository."""

    async def action(manager: ModuleManager) -> None:
        async with manager.runtime.transaction() as session:
            await repositories.add_repository(
                session, repository_id, url, name=name, ca_file=ca_file
            )

    run(with_manager(action))
    console.print(f"repository {repository_id} added")


@app.command("list")
def list_repositories(as_json: bool = JsonOption) -> None:
    """Repositories with the number of modules they offer (and read errors)."""

    async def action(manager: ModuleManager) -> list[dict[str, Any]]:
        async with manager.runtime.db.session() as session:
            return await views.repository_list(manager, session)

    rows = run(with_manager(action))
    if as_json:
        print_json(rows)
        return
    table(
        "Repositories",
        ["id", "type", "url", "modules", "installed", "error"],
        [
            [
                r["id"],
                r["type"],
                r["url"],
                r["stats"]["total_modules"],
                r["stats"]["installed_modules"],
                r["error"],
            ]
            for r in rows
        ],
    )


@app.command()
def remove(repository_id: str) -> None:
    """Remove a repository (installed modules stay)."""

    async def action(manager: ModuleManager) -> None:
        async with manager.runtime.transaction() as session:
            await repositories.remove_repository(session, repository_id)

    run(with_manager(action))
    console.print(f"repository {repository_id} removed")
