"""Catalogs: an ``index.json`` in a local folder (``file://``) or on an HTTPS server.

``index.json`` is ``{"modules": [entry, …]}``; each entry names a module version, its
compatibility fence, the SHA-256 of its wheel and where the wheel lies (relative to the index).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import ssl
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import httpx
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, Field, ValidationError, field_validator

from jobwerk import __version__
from jobwerk.errors import AppError
from jobwerk.manager._safety import MODULE_NAME, AccessDenied, inside
from jobwerk.manager.models import ModuleRepository
from jobwerk.modules.base import CONTRACT_VERSION

MAX_INDEX_BYTES = 5 * 1024 * 1024
MAX_ARCHIVE_BYTES = 50 * 1024 * 1024
WHEEL_NAME = re.compile(r"^[A-Za-z0-9_.+!-]+-[A-Za-z0-9_.+!-]+(-[A-Za-z0-9_.+!-]+){2,3}\.whl$")
TIMEOUT = httpx.Timeout(20.0, connect=5.0)


class CatalogError(AppError):
    """A catalog that cannot be read or does not hold what was asked for."""

    status = 502


class CatalogEntry(BaseModel):
    """One installable module version."""

    name: str = Field(pattern=MODULE_NAME.pattern)
    version: str
    display_name: str = ""
    description: str = ""
    author: str = ""
    category: str = "other"
    requires_jobwerk: str = Field("", description="PEP 440 range, e.g. '>=0.1,<1'")
    contract_version: int = CONTRACT_VERSION
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    archive: str = Field(description="Wheel location, relative to the index or absolute")
    size: int | None = None

    @field_validator("version")
    @classmethod
    def _pep440(cls, value: str) -> str:
        try:
            return str(Version(value))
        except InvalidVersion:
            raise ValueError(f"{value!r} is not a PEP 440 version") from None

    @field_validator("requires_jobwerk")
    @classmethod
    def _specifier(cls, value: str) -> str:
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            raise ValueError(f"{value!r} is not a PEP 440 version range") from None
        return value

    def fits(self) -> str | None:
        """Why this version cannot run on this jobwerk, or None when it can."""
        if not SpecifierSet(self.requires_jobwerk).contains(__version__, prereleases=True):
            return f"needs jobwerk {self.requires_jobwerk}; this is {__version__}"
        if self.contract_version != CONTRACT_VERSION:
            return (
                f"written for module contract {self.contract_version}; "
                f"this jobwerk offers {CONTRACT_VERSION}"
            )
        return None


def repository_type(url: str) -> str:
    return "file-based" if url.startswith("file://") else "https"


def check_repository_url(url: str) -> str:
    """Raises:
    AppError: 400 unless the URL is ``file:///absolute/folder`` or ``https://…``."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise AppError("repository url must not carry credentials (they would be shown)")
    if parts.scheme == "file" and parts.path.startswith("/") and parts.netloc in ("", "localhost"):
        return url
    if parts.scheme == "https" and parts.hostname:
        return url
    raise AppError("repository url must be file:///absolute/folder or https://host/path")


def _folder(url: str) -> Path:
    return Path(unquote(urlsplit(url).path))


def _index_url(url: str) -> str:
    return url if url.endswith(".json") else url.rstrip("/") + "/index.json"


def local_index(url: str) -> Path | None:
    """The index file of a ``file://`` repository; None for one served over HTTP(S)."""
    return _folder(_index_url(url)) if url.startswith("file://") else None


def _client(repository: ModuleRepository) -> httpx.AsyncClient:
    verify: ssl.SSLContext | bool = True
    if repository.ca_file:
        verify = ssl.create_default_context(cafile=repository.ca_file)
    return httpx.AsyncClient(verify=verify, timeout=TIMEOUT, follow_redirects=False)


def _parse_index(raw: bytes, repository: ModuleRepository) -> list[CatalogEntry]:
    try:
        data = json.loads(raw)
        entries = data["modules"] if isinstance(data, dict) else data
        return [CatalogEntry.model_validate(entry) for entry in entries]
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise CatalogError(
            f"repository '{repository.id}' has an invalid index.json: {exc}"
        ) from None


async def fetch_index(repository: ModuleRepository) -> list[CatalogEntry]:
    """The repository's module versions.

    Raises:
        CatalogError: the index cannot be read or is invalid.
    """
    if repository.url.startswith("file://"):
        path = _folder(_index_url(repository.url))
        try:
            if path.stat().st_size > MAX_INDEX_BYTES:
                raise CatalogError(f"repository '{repository.id}': index.json is too large")
            raw = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise CatalogError(f"repository '{repository.id}': {exc.strerror}") from None
        return _parse_index(raw, repository)
    try:
        async with _client(repository) as client:
            answer = await client.get(_index_url(repository.url))
            answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise CatalogError(f"repository '{repository.id}': {type(exc).__name__}: {exc}") from None
    if len(answer.content) > MAX_INDEX_BYTES:
        raise CatalogError(f"repository '{repository.id}': index.json is too large")
    return _parse_index(answer.content, repository)


def _archive_location(repository: ModuleRepository, entry: CatalogEntry) -> str | Path:
    if repository.url.startswith("file://"):
        root = _folder(repository.url)
        if root.suffix == ".json":
            root = root.parent
        relative = entry.archive.removeprefix("file://")
        if relative.startswith("/"):
            return _absolute(root, relative)
        return inside(root, relative)
    location = urljoin(_index_url(repository.url), entry.archive)
    if urlsplit(location).scheme != "https":
        raise AccessDenied("Access denied: archives of an HTTPS repository must be HTTPS")
    return location


def _absolute(root: Path, path: str) -> Path:
    """An absolute archive path is admitted only inside the repository folder."""
    resolved = Path(path).resolve()
    base = root.resolve()
    if base not in resolved.parents:
        raise AccessDenied("Access denied: the archive lies outside the repository")
    return resolved


async def download(repository: ModuleRepository, entry: CatalogEntry, target: Path) -> str:
    """Copy or download the entry's wheel to ``target`` (size-capped); returns its SHA-256."""
    location = _archive_location(repository, entry)
    digest = hashlib.sha256()
    written = 0
    with target.open("wb") as out:
        if isinstance(location, Path):
            if not location.is_file():
                raise CatalogError(f"archive {entry.archive} is missing from '{repository.id}'")
            with location.open("rb") as source:
                while chunk := source.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_ARCHIVE_BYTES:
                        raise AppError("archive exceeds the size limit")
                    digest.update(chunk)
                    out.write(chunk)
            return digest.hexdigest()
        try:
            async with _client(repository) as client, client.stream("GET", location) as answer:
                answer.raise_for_status()
                async for chunk in answer.aiter_bytes():
                    written += len(chunk)
                    if written > MAX_ARCHIVE_BYTES:
                        raise AppError("archive exceeds the size limit")
                    digest.update(chunk)
                    out.write(chunk)
        except httpx.HTTPError as exc:
            raise CatalogError(f"download failed: {type(exc).__name__}: {exc}") from None
    return digest.hexdigest()


def wheel_filename(entry: CatalogEntry) -> str:
    """The wheel's file name (pip needs it); only a plain ``*.whl`` name is accepted."""
    filename = PurePosixPath(urlsplit(entry.archive).path).name
    if not WHEEL_NAME.fullmatch(filename):
        raise AppError(f"archive {filename!r} is not a wheel file name")
    return filename


def pick(entries: list[CatalogEntry], name: str, version: str | None) -> CatalogEntry:
    """The requested version, or the highest final release that fits this jobwerk.

    Raises:
        AppError: 404 when the module or version is not in the catalog; 409 when none fits
            (naming one that would, as Grafana does).
    """
    candidates = [entry for entry in entries if entry.name == name]
    if not candidates:
        raise AppError(f"module '{name}' is not in the catalog", status=404)
    if version is not None:
        wanted = [e for e in candidates if Version(e.version) == Version(version)]
        if not wanted:
            raise AppError(f"module '{name}' has no version {version} in the catalog", status=404)
        return wanted[0]
    fitting = [e for e in candidates if e.fits() is None and not Version(e.version).is_prerelease]
    if not fitting:
        newest = max(candidates, key=lambda e: Version(e.version))
        raise AppError(f"no version of '{name}' fits: {newest.fits()}", status=409)
    return max(fitting, key=lambda e: Version(e.version))
