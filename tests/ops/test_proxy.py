"""The reverse proxy examples in ``deploy/`` in front of a real ``jobwerk serve``, each run by the
real proxy (Debian's nginx and Caddy): HTTPS, WebSockets passed through, the client's own address
and the https scheme reaching jobwerk, plain HTTP sent to HTTPS."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner
from websockets.asyncio.client import connect

from jobwerk.cli import app
from tests.ops._process import KEY, Server, environment, require_tool
from tests.support.api import free_port
from tests.support.tls import make_certificates

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CLIENT = "127.0.0.2"  # a client address other than the proxy's own
ProxyCommand = Callable[[Path, dict[str, int], Path, Path], list[str]]


def _replaced(text: str, replacements: dict[str, str]) -> str:
    """The example with its placeholders replaced; each must be in it (or the file changed)."""
    for old, new in replacements.items():
        assert old in text, f"{old!r} is no longer in the example"
        text = text.replace(old, new)
    return text


def nginx_command(folder: Path, ports: dict[str, int], cert: Path, key: Path) -> list[str]:
    site = _replaced(
        (DEPLOY / "nginx.conf").read_text(),
        {
            "listen 80;": f"listen 127.0.0.1:{ports['http']};",
            "listen [::]:80;": "",
            "listen 443 ssl;": f"listen 127.0.0.1:{ports['https']} ssl;",
            "listen [::]:443 ssl;": "",
            "/etc/letsencrypt/live/jobwerk.example.org/fullchain.pem": str(cert),
            "/etc/letsencrypt/live/jobwerk.example.org/privkey.pem": str(key),
            "server 127.0.0.1:8000;": f"server 127.0.0.1:{ports['jobwerk']};",
        },
    )
    (folder / "jobwerk.conf").write_text(site)
    temporary = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    user = "user root;" if os.geteuid() == 0 else ""  # workers read the test's private folder
    (folder / "nginx.conf").write_text(
        f"{user} daemon off; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'};\n"
        f"events {{}}\nhttp {{ access_log off; {temporary} uwsgi_temp_path {folder / 'u'}; "
        f"scgi_temp_path {folder / 's'}; include {folder / 'jobwerk.conf'}; }}\n"
    )
    nginx = require_tool("nginx")
    checked = subprocess.run(
        [nginx, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    return [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")]


def caddy_command(folder: Path, ports: dict[str, int], cert: Path, key: Path) -> list[str]:
    site = _replaced(
        (DEPLOY / "Caddyfile").read_text(),
        {
            "jobwerk.example.org {": f"https://127.0.0.1:{ports['https']} {{\n\ttls {cert} {key}",
            "reverse_proxy 127.0.0.1:8000": f"reverse_proxy 127.0.0.1:{ports['jobwerk']}",
        },
    )
    options = f"{{\n\tadmin off\n\thttp_port {ports['http']}\n\tauto_https disable_redirects\n}}\n"
    (folder / "Caddyfile").write_text(options + site)
    caddy = require_tool("caddy")
    command = [caddy, "run", "--adapter", "caddyfile", "--config", str(folder / "Caddyfile")]
    return command


@asynccontextmanager
async def proxy(command: list[str], folder: Path) -> AsyncIterator[None]:
    home = {"HOME": str(folder), "XDG_DATA_HOME": str(folder), "XDG_CONFIG_HOME": str(folder)}
    with (folder / "proxy.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command, env=os.environ | home, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def _until_answering(url: str, verify: ssl.SSLContext) -> None:
    async with httpx.AsyncClient(verify=verify) as client, asyncio.timeout(30):
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def _logged_client(log: Path, path: str) -> str:
    """The client address jobwerk logged for its request of ``path``."""
    async with asyncio.timeout(10):
        while True:
            for line in (await asyncio.to_thread(log.read_text)).splitlines():
                if line.startswith("{"):
                    entry = json.loads(line)
                    if entry.get("event") == "request" and entry.get("path") == path:
                        return str(entry["client"])
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("make_command", [nginx_command, caddy_command], ids=["nginx", "caddy"])
async def test_the_proxy_example_passes_websockets_client_address_and_scheme(
    tmp_path: Path, make_command: ProxyCommand
) -> None:
    ca, cert, key = make_certificates(tmp_path / "tls")
    trusted = ssl.create_default_context(cafile=ca)
    data_dir = tmp_path / "data"
    created = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["users", "create", "alice", "--role", "viewer", "--password-stdin"],
        input="alice-password-17\n",
        env={"JOBWERK_DATA_DIR": str(data_dir), "JOBWERK_MODULES": '["demo"]'},
    )
    assert created.exit_code == 0, created.output
    env = environment(data_dir, JOBWERK_MODULES='["demo"]', JOBWERK_LOG__FORMAT="json")
    server = Server(env, tmp_path / "jobwerk.log")
    ports = {"https": free_port(), "http": free_port(), "jobwerk": server.port}
    command = make_command(tmp_path, ports, cert, key)
    base = f"https://127.0.0.1:{ports['https']}"
    await server.start()
    try:
        async with proxy(command, tmp_path):
            await _until_answering(f"{base}/api/health", trusted)

            async with connect(
                f"wss://127.0.0.1:{ports['https']}/ws/logs?api_key={KEY}", ssl=trusted
            ) as ws:
                assert json.loads(await ws.recv())["type"] == "jobs_update"

            transport = httpx.AsyncHTTPTransport(local_address=CLIENT, verify=trusted)
            async with httpx.AsyncClient(transport=transport, base_url=base) as client:
                assert (await client.get("/api/v1/system/version")).status_code == 200
                login = await client.post(
                    "/api/v1/auth/login",
                    json={"username": "alice", "password": "alice-password-17"},
                )
            assert login.status_code == 200, login.text
            assert "secure" in login.headers["set-cookie"].lower()  # X-Forwarded-Proto: https
            assert await _logged_client(server.log, "/api/v1/system/version") == CLIENT

            if "nginx" in command[0]:
                async with httpx.AsyncClient() as client:
                    plain = await client.get(f"http://127.0.0.1:{ports['http']}/api/jobs")
                assert plain.status_code == 301
                assert plain.headers["location"] == "https://127.0.0.1/api/jobs"
    finally:
        await server.stop()
