"""Auth and validation of every module manager endpoint, /status, the legacy routes and the
operations WebSocket."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.manager.models import ModuleOperation
from tests.support.api import ADMIN, STATIC_KEY, key_headers
from tests.support.manager import NAME, Catalog, add_repository

HEX = "0" * 32
MUTATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/repository", {"id": "x", "url": "file:///tmp"}),
    ("DELETE", "/repository/x", None),
    ("POST", "/repository/install", {"module_name": NAME}),
    ("DELETE", f"/repository/uninstall/{NAME}", None),
    ("POST", "/modules/update", {"module_name": NAME}),
    ("POST", f"/modules/rollback/{NAME}", None),
    ("POST", "/modules/install-instance", {"module_name": NAME}),
    ("POST", "/repository/install-instance", {"module_name": NAME}),
    ("PATCH", f"/modules/instance/{NAME}/{HEX}", {"settings": {}}),
    ("DELETE", f"/modules/instance/{NAME}/{HEX}", None),
    ("POST", f"/modules/primary/{NAME}/{HEX}", None),
    ("POST", "/modules/operations/x/cancel", None),
    ("POST", f"/api/install/{NAME}", None),
]
READS = [
    "/repository/list",
    "/repository/modules",
    "/repository/install/status/x",
    "/modules/status/x",
    "/modules/operations",
    "/modules/instances",
    f"/modules/instance/{NAME}/{HEX}",
    f"/modules/primary/{NAME}",
    "/status",
    "/api/modules",
    f"/api/modules/{NAME}",
]


async def test_every_endpoint_needs_a_key_and_changes_need_admin(
    api: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    for method, url, body in MUTATIONS:
        anonymous = await api.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url)
        for role in ("viewer", "operator"):
            answer = await api.request(method, url, json=body, headers=key_headers(keys[role]))
            assert answer.status_code == 403, (method, url, role)
    for url in READS:
        assert (await api.get(url)).status_code == 401, url
        answer = await api.get(url, headers=key_headers(keys["viewer"]))
        assert answer.status_code in (200, 404), (url, answer.text)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/modules/primary/Bad!", None),
        ("GET", "/modules/primary/modül", None),
        ("GET", "/api/modules/9lives", None),
        ("GET", f"/modules/instance/{'a' * 65}/{HEX}", None),
        ("GET", f"/modules/instance/{NAME}/not-hex", None),
        ("GET", f"/modules/instance/{NAME}/{'A' * 32}", None),
        ("DELETE", f"/modules/instance/{NAME}/xyz", None),
        ("POST", f"/modules/primary/{NAME}/{'g' * 32}", None),
        ("DELETE", "/repository/uninstall/%2e%2e", None),
        ("POST", "/modules/rollback/UPPER", None),
        ("POST", "/repository/install", {"module_name": "../etc"}),
        ("POST", "/modules/update", {"module_name": "a b"}),
        ("POST", "/modules/install-instance", {"module_name": "-x"}),
        ("POST", "/repository", {"id": "Bad Id", "url": "file:///tmp"}),
        ("POST", "/repository", {"id": "ok", "url": "http://plain.example"}),
        ("POST", "/repository", {"id": "ok", "url": "file://relative/path"}),
        ("POST", "/repository", {"id": "ok", "url": "https://x.example", "ca_file": "ca.pem"}),
        ("POST", "/repository", {"id": "ok", "url": "https://x.example", "ca_file": "/nope.pem"}),
        ("GET", "/repository/modules?bogus=1", None),
        ("GET", "/repository/modules?text=a&text=b", None),
        ("GET", "/modules/operations?module_name=Bad!", None),
    ],
)
async def test_malformed_names_ids_and_urls_are_400(
    api: httpx.AsyncClient, method: str, url: str, body: dict[str, Any] | None
) -> None:
    answer = await api.request(method, url, json=body, headers=ADMIN)
    assert answer.status_code == 400, answer.text


async def test_not_found_and_conflicts(api: httpx.AsyncClient, catalog: Catalog) -> None:
    async def status(method: str, url: str, body: dict[str, Any] | None = None) -> int:
        return (await api.request(method, url, json=body, headers=ADMIN)).status_code

    assert await status("GET", "/modules/status/nope") == 404
    assert await status("GET", "/repository/install/status/nope") == 404
    assert await status("GET", f"/modules/instance/{NAME}/{HEX}") == 404
    assert await status("DELETE", f"/modules/instance/{NAME}/{HEX}") == 404
    assert await status("POST", f"/modules/primary/{NAME}/{HEX}") == 404
    assert await status("GET", f"/modules/primary/{NAME}") == 404
    assert await status("DELETE", "/repository/nothing") == 404
    assert await status("POST", "/repository/install", {"module_name": NAME}) == 404
    assert await status("POST", "/modules/update", {"module_name": NAME}) == 404
    assert await status("DELETE", f"/repository/uninstall/{NAME}") == 404
    assert await status("POST", "/modules/install-instance", {"module_name": NAME}) == 404
    assert await status("POST", "/modules/operations/nope/cancel") == 409
    # demo is built in: not installable, updatable or removable; it has no instances.
    await add_repository(api, catalog.url)
    assert await status("POST", "/repository/install", {"module_name": "demo"}) == 409
    assert await status("POST", "/modules/update", {"module_name": "demo"}) == 409
    assert await status("DELETE", "/repository/uninstall/demo") == 409
    assert await status("POST", "/api/install/demo") == 409
    assert await status("POST", "/repository", {"id": "local", "url": catalog.url}) == 409
    assert await status("POST", f"/modules/rollback/{NAME}") == 404


async def test_status_and_legacy_modules(api: httpx.AsyncClient) -> None:
    answer = await api.get("/status", headers=ADMIN)
    assert answer.status_code == 200
    data = answer.json()
    assert data["status"] == "ok" and data["modules"]["loaded"] == 1
    assert STATIC_KEY not in answer.text and "secret" not in answer.text.lower()
    modules = (await api.get("/api/modules", headers=ADMIN)).json()
    assert [module["name"] for module in modules["modules"]] == ["demo"]
    assert modules["modules"][0]["source"] == "builtin"


async def test_operations_stream(
    live_server: str, api: httpx.AsyncClient, catalog: Catalog
) -> None:
    with pytest.raises(InvalidStatus):
        async with connect(f"ws://{live_server}/ws/operations"):
            pass
    catalog.publish(NAME, "1.0.0")
    await add_repository(api, catalog.url)
    async with connect(f"ws://{live_server}/ws/operations?api_key={STATIC_KEY}") as ws:
        answer = await api.post("/repository/install", json={"module_name": NAME}, headers=ADMIN)
        operation_id = answer.json()["operation_id"]
        seen = []
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert message["operation_id"] == operation_id
            seen.append(message)
            if message["type"] != "operation_update":
                break
    assert seen[-1]["type"] == "operation_completed" and seen[-1]["progress"] == 100
    progress = [message["progress"] for message in seen]
    assert progress == sorted(progress) and len(seen) > 5


async def test_operations_stream_starts_with_operations_in_progress(
    live_server: str, app_runtime: Runtime
) -> None:
    async with app_runtime.transaction() as session:
        operation = ModuleOperation(type="install", module=NAME, status="running", steps=[])
        session.add(operation)
    async with connect(f"ws://{live_server}/ws/operations?api_key={STATIC_KEY}") as ws:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "operation_update"
    assert message["operation_id"] == operation.id and message["status"] == "running"


async def test_operations_of_another_process_show_on_the_stream(
    live_server: str, api: httpx.AsyncClient, catalog: Catalog, api_settings: Settings
) -> None:
    """An install made with the CLI (its own process) streams to the server's clients too."""
    catalog.publish(NAME, "1.0.0")
    await add_repository(api, catalog.url)
    async with connect(f"ws://{live_server}/ws/operations?api_key={STATIC_KEY}") as ws:
        cli = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "jobwerk", "modules", "install", NAME, "--json"),
            env={
                **os.environ,
                "JOBWERK_DATA_DIR": str(api_settings.data_dir),
                "JOBWERK_MODULES": '["demo"]',
            },
            stdout=asyncio.subprocess.PIPE,
        )
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["type"] == "operation_update":
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
        output, _ = await cli.communicate()
    assert cli.returncode == 0, output
    installed = json.loads(output)
    assert {message["operation_id"] for message in seen} == {installed["operation_id"]}
    assert seen[-1]["type"] == "operation_completed" and seen[-1]["module_name"] == NAME
