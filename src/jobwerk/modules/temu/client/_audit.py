"""Audit records of every TEMU request/response, with secrets removed, for per-run archives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["SECRET_KEYS", "ExchangeHook", "ExchangeRecord", "redact"]

SECRET_KEYS = frozenset({"app_secret", "access_token", "accessToken", "sign"})


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    """One HTTP attempt against TEMU: what was sent and what came back (secrets removed).

    ``response_body`` is the parsed JSON when the body was JSON, else the raw text (or None
    when no response arrived); ``error`` names the failure of this attempt, if any.
    """

    api_type: str
    url: str
    attempt: int
    started_at: datetime
    duration_ms: float
    request_params: dict[str, Any]
    status_code: int | None
    response_body: Any
    request_id: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ExchangeHook = Callable[[ExchangeRecord], Awaitable[None] | None]


def redact(value: Any) -> Any:
    """Return a copy of a JSON value without the keys in :data:`SECRET_KEYS` (at any depth)."""
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items() if k not in SECRET_KEYS}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
