"""Schemas the core API and module routes share: error answers and their OpenAPI entries, and the
export file a run produced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from jobwerk.core.exports import ExportEntry

EXPORTS_URL = "/api/v1/exports"


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


class ExportFileRead(BaseModel):
    name: str = Field(description="file name inside the run's exports (may contain folders)")
    size: int
    content_type: str
    title: str
    recorded: bool = Field(description="listed in the run's result as an export")
    modified_at: datetime
    download_url: str

    @classmethod
    def of(cls, run_id: str, entry: ExportEntry) -> ExportFileRead:
        return cls(
            name=entry.name,
            size=entry.size,
            content_type=entry.content_type,
            title=entry.title,
            recorded=entry.listed,
            modified_at=entry.modified_at,
            download_url=f"{EXPORTS_URL}/{run_id}/{entry.name}",
        )
