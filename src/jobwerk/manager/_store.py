"""The modules folder: ``<data_dir>/modules/<name>/<version>/`` (pip ``--target`` trees) and a
``current.json`` pointer per module, replaced atomically; staging areas per operation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import distributions
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import structlog
from packaging.requirements import Requirement
from sqlalchemy.engine import make_url

from jobwerk.core.runtime import Runtime
from jobwerk.errors import AppError
from jobwerk.manager._safety import check_module_name, inside
from jobwerk.manager._wheel import WheelInfo

log = structlog.get_logger("jobwerk.manager")
PIP_TIMEOUT = 600.0
PROBE_TIMEOUT = 120.0
OWN_DISTRIBUTION = "jobwerk"


class StepFailed(AppError):
    """A step of an install or update failed; the operation rolls back."""


@dataclass
class Pointer:
    """What ``current.json`` says: the active version and the one kept for rollback."""

    name: str
    version: str
    entry_point: str
    previous: str | None = None
    previous_entry_point: str | None = None
    repository: str | None = None
    installed_at: str = ""


class ModuleStore:
    """Folders and pointers below ``<data_dir>/modules``."""

    def __init__(self, data_dir: Path) -> None:
        self.root = (data_dir / "modules").resolve()

    def folder(self, name: str, version: str | None = None) -> Path:
        check_module_name(name)
        return inside(self.root, name, version) if version else inside(self.root, name)

    def staging(self, operation_id: str) -> Path:
        path = inside(self.root, ".staging", operation_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def clear_staging(self, operation_id: str | None = None) -> None:
        path = self.root / ".staging"
        shutil.rmtree(path / operation_id if operation_id else path, ignore_errors=True)

    def pointer(self, name: str) -> Pointer | None:
        path = self.folder(name) / "current.json"
        try:
            data = json.loads(path.read_text())
            return Pointer(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            log.error("unreadable module pointer", module=name, error=str(exc))
            return None

    def write_pointer(self, pointer: Pointer) -> None:
        folder = self.folder(pointer.name)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / "current.json.tmp"
        temporary.write_text(json.dumps(asdict(pointer), indent=2))
        os.replace(temporary, folder / "current.json")

    def remove_pointer(self, name: str) -> None:
        (self.folder(name) / "current.json").unlink(missing_ok=True)

    def installed(self) -> dict[str, Pointer]:
        found: dict[str, Pointer] = {}
        if not self.root.is_dir():
            return found
        for child in sorted(self.root.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                pointer = self.pointer(child.name)
                if pointer is not None:
                    found[child.name] = pointer
        return found

    def remove_version(self, name: str, version: str) -> None:
        shutil.rmtree(self.folder(name, version), ignore_errors=True)

    def remove_module(self, name: str) -> None:
        shutil.rmtree(self.folder(name), ignore_errors=True)


def _constraints(path: Path) -> Path:
    """Pin every distribution of jobwerk's environment, so a module cannot replace one."""
    lines = sorted(
        {f"{dist.metadata['Name']}=={dist.version}" for dist in distributions() if dist.metadata}
    )
    path.write_text("\n".join(lines) + "\n")
    return path


def missing_requirements(info: WheelInfo) -> list[str]:
    """The wheel's requirements this environment does not already satisfy (never jobwerk)."""
    missing = []
    for requirement in info.requires:
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        if requirement.name.lower() == OWN_DISTRIBUTION:
            if not _satisfied(requirement):
                raise StepFailed(f"the module needs {requirement}; this is jobwerk {_own()}")
            continue
        if not _satisfied(requirement):
            missing.append(str(requirement))
    return missing


def _own() -> str:
    from jobwerk import __version__

    return __version__


def _satisfied(requirement: Requirement) -> bool:
    try:
        present = installed_version(requirement.name)
    except Exception:
        return False
    return requirement.specifier.contains(present, prereleases=True)


async def _command(arguments: list[str], limit: float, stdin: str = "") -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *arguments,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(stdin.encode()), limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise StepFailed(f"{arguments[2]} {arguments[3]} took longer than {limit:.0f} s") from None
    return process.returncode or 0, output.decode(errors="replace")


async def pip_install(wheel: Path, info: WheelInfo, tree: Path, staging: Path) -> None:
    """Install the wheel (``--no-deps``), then what it needs beyond jobwerk's environment,
    constrained to the versions jobwerk runs with."""
    pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    code, output = await _command(
        [*pip, "--no-deps", "--no-index", "--target", str(tree), str(wheel)], PIP_TIMEOUT
    )
    if code != 0:
        raise StepFailed(f"pip could not install the wheel: {output.strip()[-2000:]}")
    needed = missing_requirements(info)
    if not needed:
        return
    constraints = _constraints(staging / "constraints.txt")
    code, output = await _command(
        [*pip, "--target", str(tree), "--upgrade", "-c", str(constraints), *needed], PIP_TIMEOUT
    )
    if code != 0:
        raise StepFailed(f"pip could not install {', '.join(needed)}: {output.strip()[-2000:]}")


async def probe(
    tree: Path, name: str, entry_point: str, *, database_url: str | None, previous: str | None
) -> dict[str, Any]:
    """Import the staged module (and run its migrations) in a child process."""
    arguments = [
        sys.executable,
        "-m",
        "jobwerk.manager._probe",
        "--path",
        str(tree),
        "--name",
        name,
        "--entry",
        entry_point,
    ]
    if previous:
        arguments += ["--previous", previous]
    _, output = await _command(arguments, PROBE_TIMEOUT, stdin=f"{database_url or ''}\n")
    lines = [line for line in output.splitlines() if line.startswith("{")]
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise StepFailed(f"the module check crashed: {output.strip()[-2000:]}") from None
    return result


BACKUPS_KEPT = 3
BACKUPS = "backups"


async def backup_database(runtime: Runtime, folder: Path, current: Pointer) -> Path | None:
    """Copy a SQLite database (``VACUUM INTO``) before an update migrates it; keep the last
    few. A failed backup stops the update. PostgreSQL is left to its own backups (None)."""
    url = make_url(runtime.db.url)
    if url.get_backend_name() != "sqlite" or not url.database:
        log.info("no database backup on this backend", backend=url.get_backend_name())
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = folder / f"{current.name}-{current.version}-{stamp}.db"
    try:
        await asyncio.to_thread(_sqlite_backup, url.database, target)
    except sqlite3.Error as exc:
        raise StepFailed(f"database backup failed: {exc}") from None
    return target


def _sqlite_backup(database: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("VACUUM INTO ?", (str(target),))
    for old in sorted(target.parent.glob("*.db"), key=lambda p: p.stat().st_mtime)[:-BACKUPS_KEPT]:
        old.unlink(missing_ok=True)
