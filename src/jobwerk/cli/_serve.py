"""``jobwerk serve`` and ``jobwerk demo``."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from jobwerk.app import create_app
from jobwerk.cli._common import console, settings
from jobwerk.config import Settings

HostOption = Annotated[str | None, typer.Option(help="Address to bind (default: API_HOST)")]
PortOption = Annotated[int | None, typer.Option(help="Port (default: API_PORT or 8000)")]


def _configured(host: str | None, port: int | None) -> Settings:
    loaded = settings(serving=True)
    if host is not None:
        loaded.api.host = host
    if port is not None:
        loaded.api.port = port
    return loaded


def _run(loaded: Settings) -> None:
    uvicorn.run(
        create_app(loaded),
        host=loaded.api.host,
        port=loaded.api.port,
        log_config=None,
        access_log=False,
    )


def serve(host: HostOption = None, port: PortOption = None) -> None:
    _run(_configured(host, port))


def demo(host: HostOption = None, port: PortOption = None) -> None:
    loaded = _configured(host, port)
    console.print(
        f"[bold]jobwerk demo[/] on http://{loaded.api.host}:{loaded.api.port} "
        f"(data in {loaded.data_dir.resolve()})"
    )
    _run(loaded)
