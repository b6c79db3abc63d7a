"""``jobwerk instances``: list, create, show, change settings of, delete and choose the primary
instance of a module."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from jobwerk.cli._output import JsonOption, console, print_json, table
from jobwerk.cli._runtime import cli_actor, run, with_runtime
from jobwerk.cli.modules import finish, with_manager
from jobwerk.core import instances
from jobwerk.core.runtime import Runtime
from jobwerk.errors import AppError, InvalidInput
from jobwerk.manager import instances as manager_instances
from jobwerk.manager.module_manager import ModuleManager
from jobwerk.storage.models import Instance

app = typer.Typer(no_args_is_help=True)


def instance_dict(instance: Instance) -> dict[str, Any]:
    return {
        "instance_id": instance.id,
        "module": instance.module,
        "name": instance.name,
        "is_primary": instance.is_primary,
        "enabled": instance.enabled,
        "settings": instance.settings,
        "created_at": instance.created_at,
    }


@app.command("list")
def list_instances(
    module: Annotated[str | None, typer.Option()] = None, as_json: bool = JsonOption
) -> None:
    """Show instances (secrets are never shown)."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.session() as session:
            return [instance_dict(i) for i in await instances.list_instances(session, module)]

    rows = run(with_runtime(action))
    if as_json:
        print_json(rows)
        return
    table(
        "Instances",
        ["id", "module", "name", "primary"],
        [[r["instance_id"], r["module"], r["name"], "★" if r["is_primary"] else ""] for r in rows],
    )


@app.command()
def create(
    module: str,
    name: str,
    settings_json: Annotated[
        str, typer.Option("--settings", help="Settings as JSON; '-' reads them from stdin")
    ] = "{}",
    primary: Annotated[bool | None, typer.Option(help="Make it the primary instance")] = None,
    as_json: bool = JsonOption,
) -> None:
    """Create an instance of a module; its default jobs are created with it."""
    raw = typer.get_text_stream("stdin").read() if settings_json == "-" else settings_json
    try:
        values = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--settings is not valid JSON: {exc}") from None

    async def action(manager: ModuleManager) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise InvalidInput("--settings must be a JSON object")
        started = await manager_instances.install_instance(
            manager, module, name, values, primary, cli_actor()
        )
        return instance_dict(await _finished(manager, started))

    data = run(with_manager(action))
    if as_json:
        print_json(data)
    else:
        console.print(
            f"instance {data['instance_id']} of {module} created"
            + (" (primary)" if data["is_primary"] else "")
            + "; its jobs are disabled until you enable them (jobwerk jobs enable ID)"
        )


@app.command("set-primary")
def set_primary(instance_id: str, as_json: bool = JsonOption) -> None:
    """Make an instance the primary one of its module."""

    async def action(manager: ModuleManager) -> dict[str, Any]:
        module = await _module_of(manager, instance_id)
        started = await manager_instances.set_primary(manager, module, instance_id, cli_actor())
        return instance_dict(await _finished(manager, started))

    data = run(with_manager(action))
    if as_json:
        print_json(data)
    else:
        console.print(f"{data['name']} is now the primary {data['module']} instance")


def parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` arguments; a value that parses as JSON (number, true, list…) is used as
    such, anything else as text."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not key=value")
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw
    return values


async def _module_of(manager: ModuleManager, instance_id: str) -> str:
    instances.check_instance_id(instance_id)
    async with manager.runtime.db.session() as session:
        return (await instances.get_instance(session, instance_id)).module


async def _finished(manager: ModuleManager, started: dict[str, Any]) -> Instance:
    """Wait for an operation on an instance (the same one the API starts, with its history and
    per-module lock); its instance, or its error as the command's."""
    done = await manager.wait(started["operation_id"])
    if done["status"] != "completed":
        raise AppError(done["error"] or f"the operation was {done['status']}")
    async with manager.runtime.db.session() as session:
        return await instances.get_instance(session, done["instance_id"])


def _print_instance(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(data)
        return
    console.print(
        f"[bold]{data['name']}[/] ({data['module_name']} {data['version'] or '?'}), "
        f"{data['status']}{', primary' if data['is_primary'] else ''}"
    )
    for key, value in sorted(data["settings"].items()):
        console.print(f"  {key} = {json.dumps(value)}")
    for key, is_set in data["secrets"].items():
        console.print(f"  {key} = {'(set)' if is_set else '(not set)'}")


@app.command("set")
def set_settings(
    instance_id: str,
    pairs: Annotated[list[str], typer.Argument(help="Settings as key=value")],
    as_json: bool = JsonOption,
) -> None:
    """Change settings of an instance (validated by its module; secrets are never shown)."""
    values = parse_pairs(pairs)

    async def action(manager: ModuleManager) -> dict[str, Any]:
        module = await _module_of(manager, instance_id)
        return await manager_instances.update_instance(manager, module, instance_id, values, None)

    _print_instance(run(with_manager(action)), as_json)


@app.command()
def show(instance_id: str, as_json: bool = JsonOption) -> None:
    """An instance with its settings; secrets appear only as set / not set."""

    async def action(manager: ModuleManager) -> dict[str, Any]:
        module = await _module_of(manager, instance_id)
        async with manager.runtime.db.session() as session:
            instance = await manager_instances.find(session, module, instance_id)
            [view] = await manager_instances.describe(manager, session, [instance])
        return view

    _print_instance(run(with_manager(action)), as_json)


@app.command()
def delete(
    instance_id: str,
    keep_files: Annotated[bool, typer.Option(help="Keep the instance's data folder")] = False,
    as_json: bool = JsonOption,
) -> None:
    """Delete an instance and its jobs (its runs are kept)."""

    async def started(manager: ModuleManager) -> dict[str, Any]:
        module = await _module_of(manager, instance_id)
        return await manager_instances.delete_instance(
            manager, module, instance_id, not keep_files, cli_actor()
        )

    finish(started, as_json)
