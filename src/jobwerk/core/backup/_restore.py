"""Checking and restoring a backup: what cannot work here is refused before anything is written;
every member is checked against the manifest while it is unpacked into a staging folder beside
the target; only then is the database loaded and the folder moved into place."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import ValidationError
from sqlalchemy import select

from jobwerk.config import Settings
from jobwerk.core.backup._manifest import (
    DATA_PREFIX,
    FORMAT,
    FORMAT_VERSION,
    KEY_MEMBER,
    MANIFEST,
    BackupInvalid,
    BackupRefused,
    Manifest,
)
from jobwerk.core.secrets import SecretBox
from jobwerk.core.states import RunStatus, transition_run
from jobwerk.errors import InvalidInput
from jobwerk.storage.backup import (
    check_empty,
    database_kind,
    described,
    load_postgresql,
    sqlite_file,
)
from jobwerk.storage.db import Database, head_revision, knows_revision, upgrade_database
from jobwerk.storage.models import Run

CHUNK = 1024 * 1024
# What reading a damaged or foreign file raises, at any point of the archive.
DAMAGED = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)
INTERRUPTED = "the backup was taken while this run executed; the restored copy never finishes it"


class TargetNotEmpty(InvalidInput):
    """A restore writes only into an empty or new data folder."""


@dataclass(frozen=True)
class RestoreTarget:
    """Where a restore writes: the data folder and database of the settings."""

    data_dir: Path
    database_url: str
    configured_key: bytes | None

    @classmethod
    def from_settings(cls, settings: Settings) -> RestoreTarget:
        key = settings.secret_key.get_secret_value().encode() if settings.secret_key else None
        return cls(settings.data_dir, settings.database_url, key)


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    files: int
    revision: str
    interrupted: list[str]


def verify_backup(archive: Path) -> Manifest:
    """Check an archive without writing anything: its manifest, that this jobwerk knows its
    schema, and every member's checksum.

    Raises:
        BackupInvalid: not a jobwerk backup, or damaged. BackupRefused: a newer schema.
    """
    with _opened(archive) as tar:
        manifest = _manifest(tar, archive)
        _check_schema(manifest)
        _unpack(tar, manifest, archive, None)
    return manifest


async def restore_backup(archive: Path, target: RestoreTarget) -> RestoreResult:
    """Restore an archive into an empty data folder (and, on PostgreSQL, an empty database);
    the database is migrated to this jobwerk's schema and runs that were executing when the
    backup was taken are marked failed with reason ``interrupted``, so they can be retried.

    Raises:
        BackupInvalid: not a jobwerk backup, or damaged (nothing is written).
        BackupRefused: a newer schema, another kind of database, another configured key.
        TargetNotEmpty, DatabaseNotEmpty: the data folder or the database holds something.
        DatabaseCopyFailed: loading the PostgreSQL dump failed (nothing of it stays).
    """
    manifest, files, staging = await asyncio.to_thread(_unpack_beside, archive, target)
    try:
        database = _staged_database(staging, manifest, target)
        if manifest.database.kind == "postgresql":
            await asyncio.to_thread(load_postgresql, target.database_url, database)
            url = target.database_url
        else:
            url = f"sqlite:///{database.absolute()}"
        await asyncio.to_thread(upgrade_database, url)
        interrupted = await _interrupt_running(url)
        _move_into_place(staging, database if manifest.database.kind == "sqlite" else None, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreResult(manifest, files, head_revision(), interrupted)


def _unpack_beside(archive: Path, target: RestoreTarget) -> tuple[Manifest, int, Path]:
    """Check the archive against this jobwerk and the target, then unpack it, every checksum
    checked, into a new folder beside the data folder; returns the manifest, the number of files
    and that folder."""
    with _opened(archive) as tar:
        manifest = _manifest(tar, archive)
        _check_schema(manifest)
        _check_target(manifest, target)
        target.data_dir.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{target.data_dir.name}.restoring-"
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=target.data_dir.parent))
        try:
            files = _unpack(tar, manifest, archive, _destinations(staging))
            _check_key(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return manifest, files, staging


@contextmanager
def _opened(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(archive, "r:gz")  # noqa: SIM115  (closed below, after the checks)
    except (FileNotFoundError, IsADirectoryError):
        raise BackupInvalid(f"{archive} is not a file") from None
    except DAMAGED as exc:
        raise BackupInvalid(f"{archive} is not a jobwerk backup archive ({_reason(exc)})") from None
    with tar:
        yield tar


def _manifest(tar: tarfile.TarFile, archive: Path) -> Manifest:
    try:
        member = tar.getmember(MANIFEST)
        stream = tar.extractfile(member)
        raw = stream.read() if stream is not None else b""
    except KeyError:
        raise BackupInvalid(f"{archive} has no {MANIFEST}: not a jobwerk backup") from None
    except DAMAGED as exc:
        raise BackupInvalid(f"{archive} is damaged ({_reason(exc)})") from None
    try:
        manifest = Manifest.model_validate_json(raw)
    except ValidationError as exc:
        raise BackupInvalid(
            f"{archive}: {MANIFEST} is not a {FORMAT} manifest ({exc.errors()[0]['msg']})"
        ) from None
    if manifest.format_version > FORMAT_VERSION:
        raise BackupRefused(
            f"{archive} has archive format {manifest.format_version}; this jobwerk reads up to "
            f"{FORMAT_VERSION}: restore it with jobwerk {manifest.jobwerk_version} or newer"
        )
    return manifest


def _check_schema(manifest: Manifest) -> None:
    if not knows_revision(manifest.schema_revision):
        raise BackupRefused(
            f"the backup's database is at schema revision {manifest.schema_revision}, newer than "
            f"this jobwerk knows (up to {head_revision()}): restore it with jobwerk "
            f"{manifest.jobwerk_version} or newer"
        )


def _check_target(manifest: Manifest, target: RestoreTarget) -> None:
    kind = database_kind(target.database_url)
    if manifest.database.kind != kind:
        raise BackupRefused(
            f"the backup holds a {manifest.database.kind} database, but the configured one "
            f"({described(target.database_url)}) is {kind}: set JOBWERK_DATABASE__URL to match"
        )
    folder = target.data_dir
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise TargetNotEmpty(
            f"{folder} is not empty: restore into an empty or new data folder "
            "(JOBWERK_DATA_DIR); nothing was written"
        )
    check_empty(target.database_url)


def _destinations(staging: Path) -> Callable[[str], Path]:
    def destination(member: str) -> Path:
        if member.startswith(DATA_PREFIX):
            return staging / "data" / member.removeprefix(DATA_PREFIX)
        return staging / PurePosixPath(member).name

    return destination


def _unpack(
    tar: tarfile.TarFile,
    manifest: Manifest,
    archive: Path,
    destination: Callable[[str], Path] | None,
) -> int:
    """Check every member against the manifest, writing it to ``destination(name)`` if given.

    Returns:
        The number of files.
    """
    seen: set[str] = set()
    try:
        for info in tar:
            if info.name == MANIFEST or info.isdir():
                continue
            entry = manifest.files.get(info.name)
            if entry is None or not info.isreg() or not _safe(info.name) or info.name in seen:
                raise BackupInvalid(f"{archive}: unexpected member {info.name!r}")
            seen.add(info.name)
            path = destination(info.name) if destination is not None else None
            digest, size = _copy(tar, info, path)
            if digest != entry.sha256 or size != entry.size:
                raise BackupInvalid(
                    f"{archive}: {info.name} does not match its checksum; the archive is damaged"
                )
    except DAMAGED as exc:
        raise BackupInvalid(f"{archive} is damaged ({_reason(exc)})") from None
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise BackupInvalid(
            f"{archive}: {len(missing)} file(s) of the manifest are missing, e.g. {missing[0]}"
        )
    return len(seen)


def _copy(tar: tarfile.TarFile, info: tarfile.TarInfo, path: Path | None) -> tuple[str, int]:
    stream = tar.extractfile(info)
    assert stream is not None
    digest, size = hashlib.sha256(), 0
    output = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = 0o700 if info.mode & 0o100 else 0o600
        output = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb")
    try:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if output is not None:
                output.write(chunk)
    finally:
        if output is not None:
            output.close()
    if path is not None:
        os.utime(path, (info.mtime, info.mtime))
    return digest.hexdigest(), size


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and name.startswith((DATA_PREFIX, "database/"))
    )


def _check_key(staging: Path, target: RestoreTarget) -> None:
    key = (staging / "data" / KEY_MEMBER.removeprefix(DATA_PREFIX)).read_bytes().strip()
    SecretBox(key)  # refuses a key that is not a Fernet key
    if target.configured_key is not None and target.configured_key != key:
        raise BackupRefused(
            "JOBWERK_SECRET_KEY is set to another key than the backup's: its secrets would "
            "not decrypt; unset it (the restored data folder holds the key) or set the backup's"
        )


def _staged_database(staging: Path, manifest: Manifest, target: RestoreTarget) -> Path:
    """Where the database copy lies in the staging folder; a SQLite file is moved to its place
    inside the staged data folder when that is where the settings expect it."""
    copy = staging / PurePosixPath(manifest.database.member).name
    if manifest.database.kind == "postgresql":
        return copy
    final = sqlite_file(target.database_url)
    if final.parent.absolute() == target.data_dir.absolute():
        inside = staging / "data" / final.name
        os.replace(copy, inside)
        return inside
    return copy


async def _interrupt_running(url: str) -> list[str]:
    """Mark the runs that were executing when the backup was taken: no process will finish
    them in the restored copy, and a failed run can be retried."""
    database = Database(url)
    try:
        async with database.write() as session:
            running = list(
                await session.scalars(select(Run.id).where(Run.status == RunStatus.RUNNING))
            )
            for run_id in running:
                await transition_run(
                    session,
                    run_id,
                    RunStatus.FAILED,
                    sources=frozenset({RunStatus.RUNNING}),
                    reason="interrupted",
                    error=INTERRUPTED,
                )
    finally:
        await database.dispose()
    return running


def _move_into_place(staging: Path, sqlite: Path | None, target: RestoreTarget) -> None:
    staged = staging / "data"
    if sqlite is not None and sqlite.parent == staging:  # a file outside the data folder
        sqlite_file(target.database_url).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(sqlite, sqlite_file(target.database_url))
    if not target.data_dir.exists():
        os.replace(staged, target.data_dir)
        return
    for child in staged.iterdir():
        os.replace(child, target.data_dir / child.name)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
