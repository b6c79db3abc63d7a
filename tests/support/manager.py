"""The module manager as tests use it: a small third-party module built as a wheel at test time
and published into a catalog folder (``index.json`` plus wheels), and operations over the API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.support.api import ADMIN

NAME = "acme"

SOURCE = """
from fastapi import APIRouter
from pydantic import BaseModel, SecretStr

from jobwerk.core.workflow import Workflow
from jobwerk.modules.base import JobSpec, Module

VERSION = "{version}"
{broken_import}

class HelloParams(BaseModel):
    name: str = "world"
    delay: float = 0


hello = Workflow("{name}.hello", HelloParams, title="Hello")


@hello.step("greet")
async def greet(ctx):
    ctx.result["version"] = VERSION
    if ctx.params.delay:
        await ctx.sleep(ctx.params.delay)
    return {{"greeting": "hello " + ctx.params.name, "version": VERSION}}


class ShopSettings(BaseModel):
    shop: str
    region: str = "eu"
    token: SecretStr | None = None


class ThirdParty(Module):
    name = "{name}"
    version = VERSION
    title = "Acme test module"
    settings_model = ShopSettings

    def workflows(self):
        return (hello,)

    def routers(self):
        router = APIRouter(prefix="/api/{name}")

        @router.get("/version")
        async def version():
            return {{"version": VERSION}}

        return (router,)

    def default_jobs(self, instance):
        if instance is None:
            return ()
        return (JobSpec("{name}_hello_" + instance.id[:8], "{name}.hello", interval_minutes=60),)

    def cli(self):
        import typer

        commands = typer.Typer(name="{name}", help="Acme test module")

        @commands.command()
        def hello(name: str = "world"):
            typer.echo("hello " + name + " from " + VERSION)

        return commands

    def migrate(self, connection, previous):
        connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS {name}_note (version VARCHAR(40))"
        )
        connection.exec_driver_sql("INSERT INTO {name}_note (version) VALUES ('" + VERSION + "')")
        {broken_migration}


module = ThirdParty()
"""


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    broken_import: bool = False,
    broken_migration: bool = False,
    extra_members: dict[str, bytes] | None = None,
    requires: list[str] | None = None,
) -> Path:
    """A wheel whose package ``<name>_pkg`` declares a ``jobwerk.modules`` entry point."""
    package = f"{name}_pkg"
    dist_info = f"{package}-{version}.dist-info"
    source = SOURCE.format(
        name=name,
        version=version,
        broken_import='raise ImportError("broken on purpose")' if broken_import else "",
        broken_migration=(
            'raise RuntimeError("migration broken on purpose")' if broken_migration else "pass"
        ),
    )
    metadata = f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {req}\n" for req in requires or [])
    files: dict[str, bytes] = {
        f"{package}/__init__.py": source.encode(),
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: jobwerk-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
        f"{dist_info}/entry_points.txt": (
            f"[jobwerk.modules]\n{name} = {package}:module\n".encode()
        ),
        **(extra_members or {}),
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    record += f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{package}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Catalog:
    """A catalog folder: ``index.json`` and ``<name>/<version>/<wheel>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: list[dict[str, Any]] = []
        root.mkdir(parents=True, exist_ok=True)
        self.save()

    @property
    def url(self) -> str:
        return self.root.resolve().as_uri()

    def save(self) -> None:
        (self.root / "index.json").write_text(json.dumps({"modules": self.entries}))

    def publish(
        self, name: str, version: str, *, checksum: str | None = None, **build: Any
    ) -> Path:
        wheel = build_wheel(self.root / name / version, name, version, **build)
        return self.add(name, version, wheel, checksum=checksum)

    def add(
        self, name: str, version: str, wheel: Path, *, checksum: str | None = None, **fields: Any
    ) -> Path:
        self.entries.append(
            {
                "name": name,
                "version": version,
                "display_name": f"{name.title()} module",
                "description": "A third-party module built by the tests",
                "author": "Acme",
                "category": "testing",
                "requires_jobwerk": ">=0.1",
                "contract_version": 1,
                "sha256": checksum or sha256(wheel),
                "archive": wheel.relative_to(self.root).as_posix(),
                **fields,
            }
        )
        self.save()
        return wheel


async def add_repository(
    http: httpx.AsyncClient, url: str, repository_id: str = "local", **extra: Any
) -> dict[str, Any]:
    answer = await http.post(
        "/repository", json={"id": repository_id, "url": url, **extra}, headers=ADMIN
    )
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()
    return data


async def wait_operation(
    http: httpx.AsyncClient, operation_id: str, seconds: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        answer = await http.get(f"/modules/status/{operation_id}", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        if data["status"] in ("completed", "failed", "cancelled"):
            return data
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"operation stayed {data['status']}: {data}")
        await asyncio.sleep(0.05)


async def operate(http: httpx.AsyncClient, method: str, url: str, **request: Any) -> dict[str, Any]:
    """Start an operation (202) and wait for it to finish."""
    answer = await http.request(method, url, headers=ADMIN, **request)
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert answer.headers["location"] == started["status_url"]
    assert started["status_url"] == f"/modules/status/{started['operation_id']}"
    return await wait_operation(http, started["operation_id"])
