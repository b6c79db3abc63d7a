"""``jobwerk instances``: list, create and choose the primary instance of a module."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from jobwerk.cli._common import JsonOption, console, print_json, run, table, with_runtime
from jobwerk.core import instances as service
from jobwerk.core.runtime import Runtime
from jobwerk.errors import InvalidInput, NotFound
from jobwerk.modules.registry import ModuleRegistry, ensure_default_jobs
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
            return [instance_dict(i) for i in await service.list_instances(session, module)]

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

    async def action(runtime: Runtime) -> dict[str, Any]:
        registry = ModuleRegistry()
        registry.discover(runtime.settings.modules)
        loaded = registry.get(module)
        if loaded is None:
            raise NotFound(f"module '{module}' is not installed")
        if not isinstance(values, dict):
            raise InvalidInput("--settings must be a JSON object")
        async with runtime.transaction() as session:
            instance = await service.create_instance(
                session,
                runtime.box,
                module,
                loaded.settings_model,
                name,
                values,
                primary=primary,
            )
        await ensure_default_jobs(runtime, loaded, instance)
        return instance_dict(instance)

    data = run(with_runtime(action))
    if as_json:
        print_json(data)
    else:
        console.print(
            f"instance {data['instance_id']} of {module} created"
            + (" (primary)" if data["is_primary"] else "")
        )


@app.command("set-primary")
def set_primary(instance_id: str, as_json: bool = JsonOption) -> None:
    """Make an instance the primary one of its module."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        service.check_instance_id(instance_id)
        async with runtime.transaction() as session:
            return instance_dict(await service.set_primary(session, instance_id))

    data = run(with_runtime(action))
    if as_json:
        print_json(data)
    else:
        console.print(f"{data['name']} is now the primary {data['module']} instance")
