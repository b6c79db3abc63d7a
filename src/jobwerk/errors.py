"""Expected failures: ``AppError`` carries a message and an HTTP status; the API maps it to 4xx."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A failure the user can fix; ``status`` is the HTTP status the API answers with."""

    status: int = 400

    def __init__(self, message: str, *, status: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.details = details


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class Locked(AppError):
    status = 423


class InvalidInput(AppError):
    """Bad parameters; ``errors`` holds pydantic-style entries with ``loc``, ``msg``, ``type``."""

    status = 422

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []
