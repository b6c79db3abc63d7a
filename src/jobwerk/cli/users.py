"""``jobwerk users``: dashboard users with roles."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from jobwerk.cli._output import JsonOption, console, print_json, table, when
from jobwerk.cli._runtime import run, with_runtime
from jobwerk.core import auth
from jobwerk.core.auth import Role
from jobwerk.core.runtime import Runtime

app = typer.Typer(no_args_is_help=True)
RoleOption = Annotated[Role, typer.Option(help="viewer reads, operator runs, admin configures")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input")
]


@app.command("create")
def create(
    username: str,
    role: RoleOption = Role.VIEWER,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user (the password is asked for, or read from stdin)."""
    password = _password(password_stdin)

    async def action(runtime: Runtime) -> None:
        async with runtime.transaction() as session:
            await auth.create_user(session, username, password, role)

    run(with_runtime(action))
    console.print(f"Created {role.value} [bold]{username}[/]")


@app.command("set-password")
def set_password(
    username: str,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a user's new password (asked for, or read from stdin) and end their sessions."""
    password = _password(password_stdin)

    async def action(runtime: Runtime) -> None:
        async with runtime.transaction() as session:
            await auth.set_password(session, username, password)

    run(with_runtime(action))
    console.print(f"Set a new password for [bold]{username}[/] and ended their sessions")


@app.command("list")
def list_users(as_json: bool = JsonOption) -> None:
    """Show every user with role and last login."""

    async def action(runtime: Runtime) -> list[list[object]]:
        async with runtime.db.session() as session:
            return [
                [user.username, user.role, user.enabled, user.last_login_at]
                for user in await auth.list_users(session)
            ]

    rows = run(with_runtime(action))
    if as_json:
        columns = ("username", "role", "enabled", "last_login_at")
        print_json([dict(zip(columns, row, strict=True)) for row in rows])
        return
    table(
        "Users",
        ["username", "role", "enabled", "last login"],
        [[*row[:3], when(row[3])] for row in rows],  # type: ignore[arg-type]
    )


@app.command("delete")
def delete(username: str) -> None:
    """Delete a user and end their sessions."""

    async def action(runtime: Runtime) -> None:
        async with runtime.transaction() as session:
            await auth.delete_user(session, username)

    run(with_runtime(action))
    console.print(f"Deleted [bold]{username}[/]")
