"""Expected failures: ``AppError`` carries a message and an HTTP status; the API maps it to 4xx."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


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

    @classmethod
    def from_validation(cls, what: str, exc: ValidationError, *loc: str) -> InvalidInput:
        """Pydantic's errors under ``loc``, and one plain line naming the first problem:
        ``invalid parameters for x.y: days_back: Input should be greater than 0``.
        Submitted values are never echoed."""
        errors = [
            {"loc": [*loc, *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        first = errors[0]
        where = ".".join(map(str, first["loc"][len(loc) :]))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return cls(f"{what}: {where + ': ' if where else ''}{first['msg']}{more}", errors)
