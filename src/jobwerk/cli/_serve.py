"""``jobwerk serve`` and ``jobwerk demo``: HTTPS when certificates exist, else HTTP on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from jobwerk.app import create_app
from jobwerk.cli._common import console, run, settings, with_runtime
from jobwerk.config import Settings
from jobwerk.core import auth
from jobwerk.core.runtime import Runtime

HostOption = Annotated[str | None, typer.Option(help="Address to bind (default: API_HOST)")]
PortOption = Annotated[
    int | None, typer.Option(help="Port (default: API_PORT or 8000; with TLS the TLS port, 8443)")
]
# Certificate and key names looked for in <data_dir>/certificates/.
CERTIFICATE_PAIRS = (
    ("cert.pem", "key.pem"),
    ("server.crt", "server.key"),
    ("fullchain.pem", "privkey.pem"),
)


def find_tls_files(loaded: Settings) -> tuple[Path, Path] | None:
    """The configured certificate and key, or a pair found in ``<data_dir>/certificates/``.

    Raises:
        typer.BadParameter: a configured file does not exist.
    """
    api = loaded.api
    if api.tls_cert or api.tls_key:
        if not (api.tls_cert and api.tls_key and api.tls_cert.is_file() and api.tls_key.is_file()):
            raise typer.BadParameter("JOBWERK_API__TLS_CERT and __TLS_KEY must both be files")
        return api.tls_cert, api.tls_key
    folder = loaded.data_dir / "certificates"
    for cert, key in CERTIFICATE_PAIRS:
        if (folder / cert).is_file() and (folder / key).is_file():
            return folder / cert, folder / key
    return None


def uvicorn_options(loaded: Settings, port: int | None) -> dict[str, Any]:
    """Host, port and (when certificates exist) TLS files for uvicorn."""
    options: dict[str, Any] = {"host": loaded.api.host, "port": port or loaded.api.port}
    tls = find_tls_files(loaded)
    if tls is not None:
        options.update(
            port=port or loaded.api.tls_port, ssl_certfile=str(tls[0]), ssl_keyfile=str(tls[1])
        )
    return options


def _configured(host: str | None) -> Settings:
    loaded = settings(serving=True)
    if host is not None:
        loaded.api.host = host
    return loaded


def _run(loaded: Settings, port: int | None) -> None:
    options = uvicorn_options(loaded, port)
    scheme = "https" if "ssl_certfile" in options else "http"
    console.print(f"jobwerk on {scheme}://{options['host']}:{options['port']}")
    uvicorn.run(create_app(loaded), log_config=None, access_log=False, **options)


def serve(host: HostOption = None, port: PortOption = None) -> None:
    _run(_configured(host), port)


def demo(host: HostOption = None, port: PortOption = None) -> None:
    loaded = _configured(host)

    async def first_admin(runtime: Runtime) -> str | None:
        async with runtime.transaction() as session:
            return await auth.create_first_admin(session)

    password = run(with_runtime(first_admin))
    from jobwerk.modules.temu.demo import prepare_temu_demo

    world = prepare_temu_demo(loaded)
    console.print(f"[bold]jobwerk demo[/] (data in {loaded.data_dir.resolve()})")
    if world is not None:
        console.print(f"TEMU sandbox on {world.server.url}, JTL replica {world.jtl_url}")
    if password is not None:
        console.print(
            f"Log in as [bold]admin[/] with password [bold]{password}[/] (shown only once)"
        )
    _run(loaded, port)
