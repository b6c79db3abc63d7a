"""Schemas shared by several routers: errors and pagination."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorRead(BaseModel):
    """An error answer; ``errors`` lists field problems for 422s."""

    detail: str | list[dict[str, Any]]
    status: int | None = Field(None, description="The HTTP status, repeated", examples=[404])


class ServerErrorRead(BaseModel):
    """An unexpected failure (a bug); quote ``request_id`` when reporting it."""

    detail: str
    path: str
    timestamp: str
    request_id: str


class Pagination(BaseModel):
    total: int = Field(description="How many rows match the filters")
    limit: int
    offset: int
    has_more: bool


def page(total: int, limit: int, offset: int, shown: int) -> Pagination:
    return Pagination(total=total, limit=limit, offset=offset, has_more=offset + shown < total)


DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Role too low or CSRF check failed",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "Invalid input",
    423: "Locked (disabled)",
    429: "Too many requests",
    503: "Busy or not ready; try again after Retry-After seconds",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {code: {"model": ErrorRead, "description": DESCRIPTIONS[code]} for code in codes}


AUTH = responses(401, 403)
# Any mutation may meet an unparsable body, the credentials check, the size or the rate limit.
MUTATION_CODES = (400, 401, 403, 413, 429)
