"""Repository configuration (in the database) and the merged catalog view with filters."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.errors import AppError, Conflict, InvalidInput, NotFound
from jobwerk.manager._safety import check_repository_id
from jobwerk.manager._store import Pointer
from jobwerk.manager.catalog import (
    CatalogEntry,
    CatalogError,
    check_repository_url,
    fetch_index,
    local_index,
    repository_type,
)
from jobwerk.manager.models import ModuleRepository


async def list_repositories(session: AsyncSession) -> list[ModuleRepository]:
    return list(await session.scalars(select(ModuleRepository).order_by(ModuleRepository.id)))


async def get_repository(session: AsyncSession, repository_id: str) -> ModuleRepository:
    check_repository_id(repository_id)
    repository = await session.get(ModuleRepository, repository_id)
    if repository is None:
        raise NotFound(f"Repository '{repository_id}' not found")
    return repository


async def add_repository(
    session: AsyncSession,
    repository_id: str,
    url: str,
    *,
    name: str | None = None,
    ca_file: str | None = None,
    enabled: bool = True,
) -> ModuleRepository:
    check_repository_id(repository_id)
    check_repository_url(url)
    index = local_index(url)
    if index is not None and not await asyncio.to_thread(index.is_file):
        # A remote repository may be down for a while; a local folder without an index is a typo.
        raise InvalidInput(
            f"{index} does not exist: a file:// repository is a folder holding index.json",
            [{"loc": ["body", "url"], "msg": "no index.json there", "type": "value_error"}],
        )
    if ca_file is not None and not (
        ca_file.startswith("/") and await asyncio.to_thread(Path(ca_file).is_file)
    ):
        raise AppError("ca_file must be the absolute path of an existing PEM file")
    if await session.get(ModuleRepository, repository_id) is not None:
        raise Conflict(f"Conflict - repository '{repository_id}' already exists")
    repository = ModuleRepository(
        id=repository_id, name=name or repository_id, url=url, ca_file=ca_file, enabled=enabled
    )
    session.add(repository)
    await session.flush()
    return repository


async def remove_repository(session: AsyncSession, repository_id: str) -> None:
    await session.delete(await get_repository(session, repository_id))
    await session.flush()


async def read_catalogs(
    repositories: list[ModuleRepository],
) -> dict[str, tuple[list[CatalogEntry], str | None]]:
    """Every enabled repository's entries (or the error that stopped reading it)."""

    async def one(repository: ModuleRepository) -> tuple[list[CatalogEntry], str | None]:
        try:
            return await fetch_index(repository), None
        except CatalogError as exc:
            return [], exc.message

    enabled = [r for r in repositories if r.enabled]
    results = await asyncio.gather(*(one(r) for r in enabled))
    return {r.id: result for r, result in zip(enabled, results, strict=True)}


def repository_dict(
    repository: ModuleRepository,
    entries: list[CatalogEntry],
    error: str | None,
    installed: dict[str, Pointer],
) -> dict[str, Any]:
    names = {entry.name for entry in entries}
    return {
        "id": repository.id,
        "name": repository.name,
        "type": repository_type(repository.url),
        "url": repository.url,
        "path": repository.url.removeprefix("file://")
        if repository.url.startswith("file")
        else None,
        "enabled": repository.enabled,
        "ca_file": repository.ca_file,
        "error": error,
        "stats": {
            "total_modules": len(names),
            "installed_modules": len(names & set(installed)),
        },
    }


def module_dict(
    entry: CatalogEntry, repository_id: str, installed: dict[str, Pointer]
) -> dict[str, Any]:
    pointer = installed.get(entry.name)
    unfit = entry.fits()
    return {
        **entry.model_dump(),
        "hash": entry.sha256,
        "repository_id": repository_id,
        "installed": pointer is not None,
        "installed_version": pointer.version if pointer else None,
        "status": (
            "installed"
            if pointer and pointer.version == entry.version
            else "incompatible"
            if unfit
            else "available"
        ),
        "compatible": unfit is None,
        "incompatible_reason": unfit,
    }


def filter_modules(
    modules: list[dict[str, Any]],
    *,
    category: str | None,
    installed: bool | None,
    text: str | None,
) -> list[dict[str, Any]]:
    needle = (text or "").lower()
    return [
        module
        for module in modules
        if (category is None or module["category"] == category)
        and (installed is None or module["installed"] == installed)
        and (
            not needle
            or needle
            in " ".join(
                [module["name"], module["display_name"], module["description"], module["author"]]
            ).lower()
        )
    ]
