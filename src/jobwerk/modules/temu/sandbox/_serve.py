"""Run the sandbox with uvicorn: in the foreground (CLI, demo) or in a thread (tests, benches)."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.types import ASGIApp

from ._app import create_sandbox_app
from ._sandbox import TemuSandbox

__all__ = ["SandboxServer", "ThreadedServer", "serve_sandbox"]


def _config(app: ASGIApp, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, access_log=False,
        lifespan="off", ws="none",
    )  # fmt: skip


def serve_sandbox(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    sandbox: TemuSandbox | None = None,
    log_level: str = "info",
    **overrides: Any,
) -> None:
    """Serve a sandbox until interrupted (blocking); for ``jobwerk temu-sandbox``.

    Args:
        host: interface to bind (loopback by default).
        port: TCP port.
        sandbox: an existing sandbox; else one is built from ``overrides`` (``seed``,
            ``orders``, ``skus``, ``auto_advance``, … — see ``SandboxConfig``).
        log_level: uvicorn log level.
    """
    sandbox = sandbox or TemuSandbox(**{"auto_advance": True, **overrides})
    uvicorn.Server(_config(create_sandbox_app(sandbox), host, port, log_level)).run()


class ThreadedServer:
    """An ASGI app served by uvicorn in a background thread, on a free port by default."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server = uvicorn.Server(_config(app, host, port, "warning"))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:53211``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start serving and wait until the socket listens."""
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server failed to start")
            time.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SandboxServer(ThreadedServer):
    """A TEMU sandbox served in a background thread.

    Use as a context manager::

        with SandboxServer(TemuSandbox(seed=3)) as server:
            client = TemuClient(base_url=server.router_url(), app_key=..., ...)
    """

    def __init__(
        self, sandbox: TemuSandbox | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.sandbox = sandbox or TemuSandbox()
        super().__init__(create_sandbox_app(self.sandbox), host, port)

    def router_url(self, region: str | None = None) -> str:
        """TEMU router URL of this server (``/{region}/openapi/router`` when given)."""
        prefix = f"/{region}" if region else ""
        return f"{self.url}{prefix}/openapi/router"
