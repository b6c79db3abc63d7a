"""What a backup archive holds and says about itself: the manifest, member names, archive names
in a backup folder and their retention."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from jobwerk.errors import AppError

FORMAT = "jobwerk-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA_PREFIX = "data/"
DATABASE_MEMBERS = {"sqlite": "database/jobwerk.db", "postgresql": "database/jobwerk.pgdump"}
KEY_MEMBER = f"{DATA_PREFIX}secret.key"
ARCHIVE_NAME = re.compile(r"^jobwerk-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar\.gz$")
# Temporary files of a backup in progress (in the archive's folder), never archived themselves.
PARTIAL_PREFIX = ".jobwerk-backup-"


class BackupInvalid(AppError):
    """Not a jobwerk backup, or a damaged one (a checksum does not match, a member is missing)."""


class BackupRefused(AppError):
    """A sound archive this jobwerk will not restore here (a newer schema, another key or
    another kind of database than configured)."""


class FileEntry(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class DatabaseEntry(BaseModel):
    kind: Literal["sqlite", "postgresql"]
    member: str
    tool: str = Field(description="What made the copy: SQLite's online backup or pg_dump")
    source: str = Field(description="The database copied (a PostgreSQL URL without password)")
    counts: dict[str, int] = Field(default_factory=dict)


class Manifest(BaseModel):
    """The last member of every archive: where it came from and a checksum of every other."""

    format: Literal["jobwerk-backup"] = "jobwerk-backup"
    format_version: int = FORMAT_VERSION
    jobwerk_version: str
    created_at: datetime
    host: str
    schema_revision: str | None
    database: DatabaseEntry
    key_source: str = Field(description="Where the secret key came from")
    exports: bool = Field(description="Whether the exports are included")
    skipped: list[str] = Field(
        default_factory=list, description="What of the data folder was left out, and why"
    )
    files: dict[str, FileEntry]


def new_archive(folder: Path, at: datetime | None = None) -> Path:
    """A path for a new archive in ``folder`` named by the time, as
    ``jobwerk-backup-20250301T023000Z.tar.gz``; another one in the same second gets ``-2``."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    stem = f"jobwerk-backup-{moment:%Y%m%dT%H%M%SZ}"
    path, number = folder / f"{stem}.tar.gz", 2
    while path.exists():
        path, number = folder / f"{stem}-{number}.tar.gz", number + 1
    return path


def _age(path: Path) -> tuple[str, int]:
    match = ARCHIVE_NAME.match(path.name)
    assert match is not None
    return match.group(1), int(match.group(2) or 1)


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` archives named by :func:`new_archive` in
    ``folder``; other files are never touched.

    Returns:
        The archives removed, oldest first.
    """
    if keep < 1:
        raise ValueError("keep at least one archive")
    archives = sorted(
        (path for path in folder.iterdir() if ARCHIVE_NAME.match(path.name) and path.is_file()),
        key=_age,
    )
    removed = archives[:-keep]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
