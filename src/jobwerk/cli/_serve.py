"""``jobwerk serve`` and ``jobwerk demo``: HTTPS when certificates exist, else HTTP on loopback."""

from __future__ import annotations

import errno
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI

from jobwerk.app import create_app
from jobwerk.cli._output import console, errors
from jobwerk.cli._runtime import run, settings, with_modules
from jobwerk.config import Settings
from jobwerk.core import auth
from jobwerk.core.runtime import Runtime
from jobwerk.modules.registry import ModuleRegistry
from jobwerk.storage.db import Database

HostOption = Annotated[str | None, typer.Option(help="Address to bind (default: API_HOST)")]
PortOption = Annotated[
    int | None, typer.Option(help="Port (default: API_PORT or 8000; with TLS the TLS port, 8443)")
]
SERVER: dict[str, Any] = {"log_config": None, "access_log": False}
# A server process that ends sooner than this after its start is failing, not crashing.
STARTUP_SECONDS = 30.0
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


def check_port(loaded: Settings, port: int | None, command: str) -> None:
    """Exit 2 with one line when the server's address cannot be bound, before anything is
    created or migrated (else ``demo`` makes an admin, then dies on the taken port).

    Raises:
        typer.Exit: the port is taken or the address cannot be bound.
    """
    options = uvicorn_options(loaded, port)
    host, number = options["host"], options["port"]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's socket
        try:
            sock.bind((host, number))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                variable = (
                    "JOBWERK_API__TLS_PORT" if "ssl_certfile" in options else "JOBWERK_API__PORT"
                )
                message = (
                    f"port {number} on {host} is already in use; pick another: "
                    f"make {command} PORT=8011 or {variable}=8011 jobwerk {command}"
                )
            else:
                message = f"cannot listen on {host}:{number}: {exc.strerror}"
            errors.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


def _configured(host: str | None) -> Settings:
    loaded = settings(serving=True)
    if host is not None:
        loaded.api.host = host
    return loaded


def worker_app() -> FastAPI:
    """The app of one process of ``jobwerk serve --workers N``, from the environment."""
    return create_app(settings(serving=True))


async def _check_database(loaded: Settings) -> None:
    database = Database(loaded.database_url)
    try:
        await database.check()
    finally:
        await database.dispose()


def _run(loaded: Settings, port: int | None, workers: int = 1) -> None:
    run(_check_database(loaded))  # a message instead of a failed start-up's traceback
    options = uvicorn_options(loaded, port)
    scheme = "https" if "ssl_certfile" in options else "http"
    processes = f" ({workers} processes)" if workers > 1 else ""
    console.print(f"jobwerk on {scheme}://{options['host']}:{options['port']}{processes}")
    if workers == 1:
        uvicorn.run(create_app(loaded), **SERVER, **options)
    elif hasattr(socket, "SO_REUSEPORT"):
        _serve_processes(options, workers)
    else:  # uvicorn's supervisor: one shared socket, connections less evenly spread
        uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, **SERVER, **options)


def _serve_processes(options: dict[str, Any], workers: int) -> None:
    """Run ``workers`` server processes until SIGINT or SIGTERM, replacing one that crashes.

    Each listens on the port itself (``SO_REUSEPORT``), so the kernel spreads new connections
    evenly; with one shared socket, whichever process wakes first takes a whole burst.

    Raises:
        typer.Exit: a process ended during its start (port taken, bad settings: see its log).
    """
    spawn = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def start() -> tuple[BaseProcess, float]:
        process = spawn.Process(target=_serve_one, args=(options,), name="jobwerk-server")
        process.start()
        return process, time.monotonic()

    def stop(_signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    processes = [start() for _ in range(workers)]
    failed = False
    while not failed and not stopping.wait(1.0):
        for index, (process, started) in enumerate(processes):
            if process.is_alive():
                continue
            if time.monotonic() - started < STARTUP_SECONDS:
                failed = True
                break
            errors.print(f"server process {process.pid} ended ({process.exitcode}); replaced")
            processes[index] = start()
    for process, _ in processes:
        process.terminate()
    for process, _ in processes:
        process.join()
    if failed:
        errors.print("[bold red]A server process failed to start; its log says why.[/]")
        raise typer.Exit(1)


def _serve_one(options: dict[str, Any]) -> None:
    family = socket.AF_INET6 if ":" in options["host"] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((options["host"], options["port"]))
    config = uvicorn.Config(f"{__name__}:worker_app", factory=True, **SERVER, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port, each with its executor and scheduler "
            "(live events flow between them)",
        ),
    ] = 1,
) -> None:
    loaded = _configured(host)
    check_port(loaded, port, "serve")
    _run(loaded, port, workers)


def demo(host: HostOption = None, port: PortOption = None) -> None:
    loaded = _configured(host)
    check_port(loaded, port, "demo")

    async def prepare(runtime: Runtime, modules: ModuleRegistry) -> tuple[str | None, list[str]]:
        async with runtime.transaction() as session:
            password = await auth.create_first_admin(session)
        return password, await modules.demo(runtime)

    password, lines = run(with_modules(prepare))
    console.print(f"[bold]jobwerk demo[/] (data in {loaded.data_dir.resolve()})")
    for line in lines:
        console.print(line, markup=False)
    if password is not None:
        console.print(
            f"Log in as [bold]admin[/] with password [bold]{password}[/] (shown only once)"
        )
    _run(loaded, port)
