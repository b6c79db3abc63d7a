"""What every CLI command runs in: valid settings, a started runtime, one-line errors."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import typer
from pydantic import ValidationError

from jobwerk.cli._output import errors
from jobwerk.config import Settings, load_settings
from jobwerk.core.runtime import Runtime
from jobwerk.errors import AppError, InvalidInput
from jobwerk.logging import configure_logging
from jobwerk.modules.registry import ModuleRegistry

T = TypeVar("T")


def settings(*, serving: bool = False) -> Settings:
    """The settings, or a clear message and exit code 2 when they are invalid.

    Commands other than the servers log warnings only, so their own output stays readable.
    """
    try:
        loaded = load_settings()
    except ValidationError as exc:
        errors.print("[bold red]Invalid settings:[/]")
        for error in exc.errors(include_url=False):
            where = "__".join(str(part) for part in error["loc"]).upper()
            errors.print(f"  JOBWERK_{where}: {error['msg']}" if where else f"  {error['msg']}")
        raise typer.Exit(2) from None
    level = loaded.log.level if serving or loaded.log.level != "INFO" else "WARNING"
    configure_logging(level, loaded.log.format)
    return loaded


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; an ``AppError`` becomes its one-line message and exit code 1
    (2 for bad input, as for a bad option)."""
    try:
        return asyncio.run(coroutine)
    except AppError as exc:
        errors.print(f"[bold red]Error:[/] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1) from None


async def with_runtime(action: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open the database (migrated) with every module's workflows registered; what the command
    changes reaches running servers' live views."""
    return await with_modules(lambda runtime, _modules: action(runtime))


async def with_modules(action: Callable[[Runtime, ModuleRegistry], Awaitable[T]]) -> T:
    """:func:`with_runtime` for a command that also needs the loaded modules."""
    runtime = Runtime(settings())
    modules = ModuleRegistry()
    modules.discover(runtime.settings.modules)
    modules.attach(runtime)
    await runtime.start(executor=False, scheduler=False)
    try:
        await modules.startup(runtime, hooks=False)
        return await action(runtime, modules)
    finally:
        await runtime.stop()


def cli_actor() -> str:
    """Who starts a run from this command line, as stored in ``run.started_by``."""
    return f"cli:{getpass.getuser()}"
