"""Input checks shared by the manager: names, instance ids and paths that must stay in a root."""

from __future__ import annotations

import re
from pathlib import Path

from jobwerk.core.instances import check_instance_id
from jobwerk.errors import AppError

MODULE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
REPOSITORY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

__all__ = ["check_instance_id", "check_module_name", "check_repository_id", "inside"]


class AccessDenied(AppError):
    status = 403


def check_module_name(name: str) -> str:
    """Raises:
    AppError: 400 unless ``name`` matches ``^[a-z][a-z0-9_-]{0,63}$``."""
    if not MODULE_NAME.fullmatch(name):
        raise AppError(
            f"module name {name[:80]!r} must be lower-case ASCII letters, digits, '_' or '-' "
            "and start with a letter (at most 64 characters)"
        )
    return name


def check_repository_id(repository_id: str) -> str:
    if not REPOSITORY_ID.fullmatch(repository_id):
        raise AppError(
            f"repository id {repository_id[:80]!r} must be lower-case letters, digits, '_' or '-'"
        )
    return repository_id


def inside(root: Path, *parts: str) -> Path:
    """``root / parts`` resolved, refused with 403 if it leaves ``root`` (symlinks included)."""
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise AccessDenied("Access denied: the path leaves its folder")
    return target
