"""Exports of any run: the files in ``<data_dir>/exports/<run_id>/``, listed, served and deleted,
and the deletion of a run with its exports (the same for the API and the CLI).

Generic over workflows (scraper Markdown/PDF, TEMU's JTL XML); every path built from a request is
resolved and checked against the run's export folder, so nothing outside it can be reached.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core import run_service
from jobwerk.core.context import run_export_dir
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import ACTIVE
from jobwerk.errors import AppError, Conflict, NotFound
from jobwerk.storage.models import Run

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_LISTED = 5000
_TYPES = {
    ".md": "text/markdown; charset=utf-8",
    ".markdown": "text/markdown; charset=utf-8",
    ".xml": "application/xml",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".pdf": "application/pdf",
}


class Forbidden(AppError):
    status = 403


@dataclass(frozen=True)
class ExportEntry:
    """One file of a run's export folder."""

    name: str
    path: Path
    size: int
    content_type: str
    title: str
    listed: bool
    modified_at: datetime


def export_root(data_dir: Path, run_id: str) -> Path:
    """The run's export folder (it may not exist yet).

    Raises:
        NotFound: ``run_id`` is not a run id.
    """
    if not RUN_ID.match(run_id):
        raise NotFound(f"Run '{run_id}' not found")
    return run_export_dir(data_dir, run_id).resolve()


def content_type_of(name: str, run: Run | None = None) -> str:
    """The content type the run recorded for ``name``, else one from the file suffix."""
    for entry in _recorded(run):
        if entry.get("name") == name and entry.get("content_type"):
            return str(entry["content_type"])
    suffix = Path(name).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _recorded(run: Run | None) -> list[dict[str, Any]]:
    exports = (run.result or {}).get("exports") if run is not None else None
    return [entry for entry in exports or [] if isinstance(entry, dict)]


def export_file(data_dir: Path, run_id: str, filename: str) -> Path:
    """The file ``filename`` (may contain sub-folders) of a run's exports.

    Raises:
        Forbidden: the name points outside the export folder. NotFound: no such file.
    """
    root = export_root(data_dir, run_id)
    if not filename or "\x00" in filename or Path(filename).is_absolute():
        raise Forbidden("invalid export file name")
    path = (root / filename).resolve()
    if not path.is_relative_to(root) or path == root:
        raise Forbidden("the file name points outside the run's exports")
    if not path.is_file():
        raise NotFound(f"Export '{filename}' of run '{run_id}' not found")
    return path


def list_exports(data_dir: Path, run: Run) -> list[ExportEntry]:
    """Every file of the run's export folder (recorded exports first, then the rest)."""
    root = export_root(data_dir, run.id)
    if not root.is_dir():
        return []
    recorded = {str(entry.get("name")): entry for entry in _recorded(run)}
    entries: list[ExportEntry] = []
    for path in sorted(root.rglob("*")):
        if len(entries) >= MAX_LISTED:
            break
        if path.is_symlink() or not path.is_file():
            continue
        name = path.relative_to(root).as_posix()
        stat = path.stat()
        entries.append(
            ExportEntry(
                name=name,
                path=path,
                size=stat.st_size,
                content_type=content_type_of(name, run),
                title=str(recorded.get(name, {}).get("title") or name),
                listed=name in recorded,
                modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
            )
        )
    entries.sort(key=lambda entry: (not entry.listed, entry.name))
    return entries


def delete_exports(data_dir: Path, run: Run) -> tuple[int, int]:
    """Remove the run's export folder; returns the number of files and bytes removed."""
    entries = list_exports(data_dir, run)
    root = export_root(data_dir, run.id)
    if root.is_dir():
        shutil.rmtree(root)
    return len(entries), sum(entry.size for entry in entries)


async def run_exports(
    session: AsyncSession, data_dir: Path, run_id: str
) -> tuple[Run, list[ExportEntry]]:
    """A run (by id or unique prefix) and its export files. Raises NotFound."""
    run = await run_service.get_run(session, run_id)
    return run, await asyncio.to_thread(list_exports, data_dir, run)


async def export_download(
    session: AsyncSession, data_dir: Path, run_id: str, filename: str
) -> tuple[Path, str]:
    """The path and content type of one export file.

    Raises:
        NotFound: unknown run or file. Forbidden: the name leaves the run's export folder.
    """
    run = await run_service.get_run(session, run_id)
    return export_file(data_dir, run.id, filename), content_type_of(filename, run)


async def remove_exports(runtime: Runtime, run_id: str) -> tuple[int, int]:
    """Delete a finished run's export files; the run keeps its record.

    Raises:
        NotFound: unknown run. Conflict: the run is still writing (cancel it first).
    """
    async with runtime.transaction() as session:
        run = await run_service.get_run(session, run_id)
        if run.status in ACTIVE:
            raise Conflict(f"Run '{run.id}' is {run.status}; cancel it first")
        counts = await asyncio.to_thread(delete_exports, runtime.settings.data_dir, run)
        run.result = {**(run.result or {}), "exports": [], "exports_deleted": True}
    return counts


async def cancel_or_delete_run(runtime: Runtime, run_id: str) -> tuple[str, str, str | None]:
    """Cancel an active run, or delete a finished one with its exports.

    Returns:
        The run's whole id, the action (``cancelled`` or ``deleted``) and the run's status
        (None once deleted).

    Raises:
        NotFound: unknown run. Conflict: the run finished while it was being cancelled.
    """
    async with runtime.transaction() as session:
        run = await run_service.get_run(session, run_id)
        run_id = run.id
        if run.status in ACTIVE:
            run = await run_service.cancel_run(session, run_id)
            action, status = "cancelled", run.status
        else:
            await run_service.delete_run(session, run_id)
            action, status = "deleted", None
    if action == "cancelled":
        runtime.executor.cancel(run_id)
    else:
        folder = run_export_dir(runtime.settings.data_dir, run_id)
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
    return run_id, action, status
