"""``jobwerk keys``: API keys for machines, stored hashed and shown once."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobwerk.cli._output import JsonOption, console, print_json, table, when
from jobwerk.cli._runtime import run, with_runtime
from jobwerk.core import auth
from jobwerk.core.auth import Role
from jobwerk.core.runtime import Runtime

app = typer.Typer(no_args_is_help=True)


@app.command("create")
def create(
    name: str,
    role: Annotated[Role, typer.Option(help="viewer, operator or admin")] = Role.VIEWER,
    as_json: bool = JsonOption,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""

    async def action(runtime: Runtime) -> str:
        async with runtime.transaction() as session:
            _, key = await auth.create_api_key(session, name, role)
        return key

    key = run(with_runtime(action))
    if as_json:
        print_json({"name": name, "role": role.value, "key": key})
        return
    console.print(f"API key [bold]{name}[/] ({role.value}); it is shown only now:")
    typer.echo(key)


@app.command("list")
def list_keys(as_json: bool = JsonOption) -> None:
    """Show the keys (names, roles, prefixes; never the keys)."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.session() as session:
            return [
                {
                    "name": key.name,
                    "role": key.role,
                    "prefix": key.prefix,
                    "created_at": key.created_at,
                    "revoked_at": key.revoked_at,
                }
                for key in await auth.list_api_keys(session)
            ]

    keys = run(with_runtime(action))
    if as_json:
        print_json(keys)
        return
    table(
        "API keys",
        ["name", "role", "prefix", "created", "revoked"],
        [
            [
                key["name"],
                key["role"],
                key["prefix"],
                when(key["created_at"]),
                when(key["revoked_at"]),
            ]
            for key in keys
        ],
    )


@app.command("revoke")
def revoke(name: str) -> None:
    """Revoke a key; requests with it are refused from now on."""

    async def action(runtime: Runtime) -> None:
        async with runtime.transaction() as session:
            await auth.revoke_api_key(session, name)

    run(with_runtime(action))
    console.print(f"Revoked [bold]{name}[/]")
