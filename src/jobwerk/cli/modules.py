"""``jobwerk modules``: list, install, update, uninstall and roll back modules from repositories.

Operations run in this process and are recorded like the API's; a running server picks up the
change on its next start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from jobwerk.cli._output import JsonOption, console, errors, print_json, table
from jobwerk.cli._runtime import cli_actor, run, settings
from jobwerk.core.runtime import Runtime
from jobwerk.manager import views
from jobwerk.manager.module_manager import ModuleManager
from jobwerk.modules.registry import ModuleRegistry

T = TypeVar("T")
app = typer.Typer(no_args_is_help=True)
RepositoryOption = typer.Option("--repository", "-r", help="Repository id (default: any)")
VersionOption = typer.Option("--version", "-v", help="Version (default: newest that fits)")


async def with_manager(action: Callable[[ModuleManager], Awaitable[T]]) -> T:
    """A runtime with built-in and installed modules loaded, and the module manager; its
    operations show live on the servers' ``/ws/operations`` (the runtime relays its events)."""
    runtime = Runtime(settings())
    registry = ModuleRegistry()
    registry.discover(runtime.settings.modules)
    registry.attach(runtime)
    manager = ModuleManager(runtime, registry)
    manager.load_installed()
    await runtime.start(executor=False, scheduler=False)
    try:
        return await action(manager)
    finally:
        await manager.stop()
        await runtime.stop()


def finish(started: Callable[[ModuleManager], Awaitable[dict[str, Any]]], as_json: bool) -> None:
    """Start an operation, wait for it and report; a failed one exits with code 1."""

    async def action(manager: ModuleManager) -> dict[str, Any]:
        data = await started(manager)
        return await manager.wait(data["operation_id"])

    result = run(with_manager(action))
    if as_json:
        print_json(result)
    elif result["status"] == "completed":
        console.print(result["message"])
    else:
        errors.print(f"[bold red]{result['status']}:[/] {result['error']}")
    if result["status"] != "completed":
        raise typer.Exit(1)


@app.command("list")
def list_modules(as_json: bool = JsonOption) -> None:
    """Built-in and installed modules with their versions."""

    async def action(manager: ModuleManager) -> list[dict[str, Any]]:
        return views.module_list(manager)

    rows = run(with_manager(action))
    if as_json:
        print_json(rows)
        return
    table(
        "Modules",
        ["name", "version", "status", "source", "previous", "workflows"],
        [
            [
                r["name"],
                r["version"],
                r["status"],
                r["source"],
                r["previous_version"],
                ", ".join(r["workflows"]),
            ]
            for r in rows
        ],
    )


@app.command()
def install(
    name: str,
    repository: Annotated[str | None, RepositoryOption] = None,
    version: Annotated[str | None, VersionOption] = None,
    as_json: bool = JsonOption,
) -> None:
    """Install a module from a repository."""
    finish(lambda manager: manager.install(name, repository, version, cli_actor()), as_json)


@app.command()
def update(
    name: str,
    repository: Annotated[str | None, RepositoryOption] = None,
    version: Annotated[str | None, VersionOption] = None,
    as_json: bool = JsonOption,
) -> None:
    """Update an installed module; the previous version is kept for ``rollback``."""
    finish(lambda manager: manager.update(name, repository, version, cli_actor()), as_json)


@app.command()
def uninstall(
    name: str,
    force: Annotated[bool, typer.Option(help="Also delete its instances")] = False,
    as_json: bool = JsonOption,
) -> None:
    """Remove an installed module (run history is kept)."""
    finish(lambda manager: manager.uninstall(name, force, cli_actor()), as_json)


@app.command()
def rollback(name: str, as_json: bool = JsonOption) -> None:
    """Switch an installed module back to the version before its last update."""
    finish(lambda manager: manager.rollback(name, cli_actor()), as_json)
