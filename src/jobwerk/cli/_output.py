"""CLI output: rich tables and messages for people, ``--json`` for scripts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)
JsonOption = typer.Option(False, "--json", help="Print JSON for scripts")


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=_default, ensure_ascii=False))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    output = Table(title=title, title_justify="left")
    for position, column in enumerate(columns):
        # Ids are never cut: a shortened id cannot be pasted into the next command.
        widest = max((len(str(row[position] or "")) for row in rows), default=0)
        output.add_column(column, overflow="fold", min_width=widest if column == "id" else None)
    for row in rows:
        output.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(output)


def when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "—"
