"""jobwerk as operators run it: real ``jobwerk`` processes (this version or an older one) on a data
folder, their commands, and the system tools the deployment files are checked with."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import free_port

KEY = "ops-test-admin-key"
HEADERS = {"X-API-Key": KEY}


def require_tool(name: str) -> str:
    """The path of a system program the test needs: skipped without it, failed in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (make system-deps installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}, and CI requires it")
        pytest.skip(message)
    return path


def environment(data_dir: Path, **variables: str) -> dict[str, str]:
    """The environment of a jobwerk process on ``data_dir``: a static admin key, no scheduler
    (the tests trigger), every module loaded."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("JOBWERK_")}
    return base | {
        "JOBWERK_DATA_DIR": str(data_dir),
        "JOBWERK_API__KEY": KEY,
        "JOBWERK_API__RATE_LIMIT_PER_MINUTE": "100000",
        "JOBWERK_ENGINE__SCHEDULER": "false",
        "JOBWERK_ENGINE__POLL_SECONDS": "0.2",
        **variables,
    }


def jobwerk(
    *args: str, env: dict[str, str], python: str = sys.executable, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a jobwerk command to its end."""
    return subprocess.run(
        [python, "-m", "jobwerk", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Server:
    """``jobwerk serve`` in its own process; its log goes to ``log``."""

    env: dict[str, str]
    log: Path
    python: str = sys.executable
    port: int = field(default_factory=free_port)
    scheme: str = "http"
    verify: Any = True
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def client(self, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, headers=HEADERS, verify=self.verify, timeout=30, **options
        )

    async def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                *(self.python, "-m", "jobwerk", "serve", "--port", str(self.port)),
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        async with self.client() as client:
            async with asyncio.timeout(60):
                while True:
                    if self.process.returncode is not None:
                        raise AssertionError(f"jobwerk serve ended: {self.log.read_text()}")
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)

    async def stop(self, *, kill: bool = False) -> None:
        """Stop the server: SIGTERM (a clean stop) or SIGKILL (a crash)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 30)
        self.process = None


async def wait_for_run(
    client: httpx.AsyncClient, run_id: str, *states: str, seconds: float = 60
) -> dict[str, Any]:
    """Poll a run until it is in one of ``states`` (default: finished)."""
    wanted = set(states) or {"completed", "completed_with_warnings", "failed", "cancelled"}
    async with asyncio.timeout(seconds):
        while True:
            run: dict[str, Any] = (await client.get(f"/api/v1/jobs/{run_id}")).json()
            if run["status"] in wanted:
                return run
            await asyncio.sleep(0.1)
