"""Writing a backup while the server runs: the database first (one consistent snapshot), then the
secret key and the data folder's files, each checksummed as it goes into the archive, the
manifest last. The archive appears under its name only when it is complete."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, cast

from jobwerk import __version__
from jobwerk.config import Settings
from jobwerk.core.backup._manifest import (
    ARCHIVE_NAME,
    DATA_PREFIX,
    DATABASE_MEMBERS,
    KEY_MEMBER,
    MANIFEST,
    PARTIAL_PREFIX,
    DatabaseEntry,
    FileEntry,
    Manifest,
)
from jobwerk.core.secrets import KEY_FILE
from jobwerk.errors import AppError
from jobwerk.storage.backup import (
    DatabaseCopy,
    copy_sqlite,
    database_kind,
    dump_postgresql,
    sqlite_file,
)

CHUNK = 1024 * 1024
SPOOL_BYTES = 8 * 1024 * 1024
COMPRESS_LEVEL = 6
SQLITE_HEADER = b"SQLite format 3\x00"
# Parts of a data folder no backup holds: caches and work in progress that jobwerk makes anew.
SKIPPED = {
    "temu-demo": "the demo's sandbox and replica (jobwerk demo makes them anew)",
    "temu-previews": "copies of the shop's rows for dry runs (each preview makes its own)",
    "docs/cache": "the scraper's page cache (the next scrape refills it)",
    "docs/crawls": "pages of scrapes in progress",
    "modules/.staging": "module operations in progress",
}

Progress = Callable[[int, int], None]
"""Called after each file with the files and bytes archived so far; raising stops the backup."""


@dataclass(frozen=True)
class BackupSource:
    """What a backup copies: the data folder, the database and the secret key in use."""

    data_dir: Path
    database_url: str
    key: bytes
    key_source: str

    @classmethod
    def from_settings(cls, settings: Settings) -> BackupSource:
        """The configured data folder and database, and the key a server would use.

        Raises:
            AppError: neither ``JOBWERK_SECRET_KEY`` nor a key file in the data folder.
        """
        if settings.secret_key is not None:
            key = settings.secret_key.get_secret_value().encode()
            return cls(settings.data_dir, settings.database_url, key, "JOBWERK_SECRET_KEY")
        path = settings.data_dir / KEY_FILE
        if not path.is_file():
            raise AppError(
                f"no secret key at {path} and JOBWERK_SECRET_KEY is not set: is "
                f"{settings.data_dir} the data folder jobwerk runs on (JOBWERK_DATA_DIR)?"
            )
        return cls(settings.data_dir, settings.database_url, path.read_bytes().strip(), str(path))


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest
    size: int
    seconds: float


def create_backup(
    source: BackupSource, target: Path, *, exports: bool = True, progress: Progress | None = None
) -> BackupResult:
    """Write one archive of everything ``source`` needs to run again: a consistent copy of
    the database (SQLite's online backup API or ``pg_dump``), the secret key, certificates,
    installed modules, instance folders and (with ``exports``) the exports. The server may
    keep running and executing runs meanwhile; ``target`` is replaced only when complete.

    Raises:
        AppError: ``target`` is inside the data folder (lost with it, and served with the
            exports). DatabaseCopyFailed: the database could not be copied. OSError: a file
            could not be written (a full disk, say); nothing is left behind.
    """
    started = time.monotonic()
    target = target.absolute()
    if target.resolve().is_relative_to(source.data_dir.resolve()):
        raise AppError(
            f"write the archive outside the data folder {source.data_dir}: a backup inside it "
            "is lost with it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(
        prefix=PARTIAL_PREFIX, suffix=".partial", dir=target.parent
    )
    scratch = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=target.parent))
    try:
        with os.fdopen(descriptor, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=COMPRESS_LEVEL) as tar:
                writer = _Writer(tar, scratch, progress)
                database = writer.add_database(source.database_url)
                writer.add_bytes(KEY_MEMBER, source.key + b"\n")
                skipped = writer.add_data_folder(source, exports)
                manifest = _manifest(source, database, writer.files, skipped, exports)
                writer.add_bytes(MANIFEST, manifest.model_dump_json(indent=2).encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return BackupResult(target, manifest, target.stat().st_size, time.monotonic() - started)


def _manifest(
    source: BackupSource,
    database: DatabaseCopy,
    files: dict[str, FileEntry],
    skipped: list[str],
    exports: bool,
) -> Manifest:
    return Manifest(
        jobwerk_version=__version__,
        created_at=datetime.now(UTC),
        host=socket.gethostname(),
        schema_revision=database.revision,
        database=DatabaseEntry(
            kind=database.kind,
            member=DATABASE_MEMBERS[database.kind],
            tool=database.tool,
            source=database.source,
            counts=database.counts,
        ),
        key_source=source.key_source,
        exports=exports,
        skipped=skipped,
        files=files,
    )


class _Writer:
    """Adds members to the archive and keeps each one's checksum."""

    def __init__(self, tar: tarfile.TarFile, scratch: Path, progress: Progress | None) -> None:
        self.tar = tar
        self.scratch = scratch
        self.progress = progress
        self.files: dict[str, FileEntry] = {}
        self.bytes = 0

    def add_database(self, url: str) -> DatabaseCopy:
        kind = database_kind(url)
        copy_path = self.scratch / Path(DATABASE_MEMBERS[kind]).name
        copy = copy_sqlite(url, copy_path) if kind == "sqlite" else dump_postgresql(url, copy_path)
        with copy_path.open("rb") as handle:
            self._add(DATABASE_MEMBERS[kind], handle, copy_path.stat().st_size, time.time())
        copy_path.unlink()
        return copy

    def add_bytes(self, member: str, data: bytes) -> None:
        self._add(member, io.BytesIO(data), len(data), time.time())

    def add_data_folder(self, source: BackupSource, exports: bool) -> list[str]:
        """Every regular file of the data folder but the database, the key file, what
        ``SKIPPED`` names and archives put there; returns what was left out, with why."""
        data_dir = source.data_dir
        left_out = dict(SKIPPED) | ({} if exports else {"exports": "left out on request"})
        own = {(data_dir / KEY_FILE).absolute()}
        if database_kind(source.database_url) == "sqlite":
            own.add(sqlite_file(source.database_url).absolute())
        skipped = []
        for path in _files(data_dir, left_out):
            relative = path.relative_to(data_dir).as_posix()
            if path.absolute() in own or _is_backup(path) or _is_sqlite_sidecar(path):
                continue
            if path.is_symlink() or not path.is_file():
                skipped.append(f"{relative}: not a regular file")
                continue
            self._add_file(path, DATA_PREFIX + relative)
        present = sorted(name for name in left_out if (data_dir / name).exists())
        return [f"{name}: {left_out[name]}" for name in present] + skipped

    def _add_file(self, path: Path, member: str) -> None:
        """Copy the file aside first (in memory when small): a file that changes while it is
        read must not make the archive disagree with its own header."""
        if path.suffix in (".db", ".sqlite", ".sqlite3") and _starts_with(path, SQLITE_HEADER):
            self._add_sqlite(path, member)
            return
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return  # deleted since the folder was listed (a run removed with its exports)
        with handle, tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=str(self.scratch)) as spool:
            status = os.fstat(handle.fileno())
            size = 0
            while chunk := handle.read(CHUNK):
                spool.write(chunk)
                size += len(chunk)
            spool.seek(0)
            self._add(member, cast(IO[bytes], spool), size, status.st_mtime, status.st_mode)

    def _add_sqlite(self, path: Path, member: str) -> None:
        """Another SQLite database (a module's): copied consistently like jobwerk's own."""
        copy_path = self.scratch / "module.db"
        with (
            closing(sqlite3.connect(path, timeout=30)) as origin,
            closing(sqlite3.connect(copy_path)) as copy,
        ):
            origin.backup(copy)
        with copy_path.open("rb") as handle:
            self._add(member, handle, copy_path.stat().st_size, path.stat().st_mtime)
        copy_path.unlink()

    def _add(
        self, member: str, handle: IO[bytes], size: int, mtime: float, mode: int = 0o600
    ) -> None:
        info = tarfile.TarInfo(member)
        info.size, info.mtime, info.mode = size, mtime, mode & 0o777
        hashing = _Hashing(handle)
        self.tar.addfile(info, cast(IO[bytes], hashing))
        if hashing.size != size:
            raise AppError(f"{member} changed size while it was archived")
        self.files[member] = FileEntry(sha256=hashing.digest.hexdigest(), size=size)
        self.bytes += size
        if self.progress is not None:
            self.progress(len(self.files), self.bytes)


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self.inner.read(-1 if size is None else size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _files(root: Path, left_out: dict[str, str]) -> Iterator[Path]:
    """The data folder's entries below ``root`` in a stable order, without ``left_out``."""
    for folder, dirs, names in os.walk(root):
        base = Path(folder)
        relative = base.relative_to(root)
        dirs[:] = sorted(
            name
            for name in dirs
            if (relative / name).as_posix() not in left_out and not name.startswith(PARTIAL_PREFIX)
        )
        for name in sorted(names):
            yield base / name


def _is_sqlite_sidecar(path: Path) -> bool:
    """A SQLite journal or WAL file: the database beside it is copied consistently with its
    content, and a stale copy next to that copy would be applied to it."""
    base, _, end = path.name.rpartition("-")
    return end in ("wal", "shm", "journal") and (path.parent / base).is_file()


def _is_backup(path: Path) -> bool:
    return bool(ARCHIVE_NAME.match(path.name)) or path.name.startswith(PARTIAL_PREFIX)


def _starts_with(path: Path, header: bytes) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(header)) == header
    except OSError:
        return False
