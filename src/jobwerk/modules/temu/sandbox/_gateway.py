"""TEMU gateway checks, in TEMU's documented order: type, app key, token, timestamp, data_type,
signature, scope, region."""

from __future__ import annotations

from typing import Any

from jobwerk.modules.temu.client import sign_request

from ._config import ALL_API_TYPES, RETIRED_API_TYPES
from ._data import TokenGrant
from ._envelope import SandboxError
from ._state import SandboxState

__all__ = ["check_envelope"]

_WRONG_REGION = (
    "The request area is incorrect. Please check the request area and replace it with the "
    "correct request area. The request area for the United States is US, and the request "
    "area for other non-European countries is global."
)


def _require(body: dict[str, Any], key: str, code: int) -> Any:
    value = body.get(key)
    if value is None or value == "":
        raise SandboxError(code, f"{key} is missing")
    return value


def _check_type(body: dict[str, Any]) -> str:
    api_type = _require(body, "type", 3_000_002)
    if api_type in RETIRED_API_TYPES:
        raise SandboxError(3_000_004, f"api {api_type} is sunset")
    if api_type not in ALL_API_TYPES:
        raise SandboxError(3_000_003, f"api {api_type} is not existing")
    return str(api_type)


def _check_token(state: SandboxState, body: dict[str, Any]) -> TokenGrant:
    app_key = _require(body, "app_key", 3_000_025)
    if app_key != state.config.app_key:
        raise SandboxError(3_000_026, "app_key is not existing")
    token = state.tokens.get(str(_require(body, "access_token", 3_000_030)))
    if token is None:
        raise SandboxError(3_000_031, "access_token is not existing")
    if token.app_key != app_key:
        raise SandboxError(3_000_033, "access_token and app_key do not match")
    if token.expires_at < state.now():
        raise SandboxError(3_000_034, "access_token has expired or been refreshed")
    return token


def _check_timestamp(body: dict[str, Any], wall_now: int, window: int) -> None:
    raw = _require(body, "timestamp", 3_000_010)
    try:
        timestamp = int(raw)
    except (TypeError, ValueError):
        raise SandboxError(3_000_000, "timestamp must be UNIX seconds") from None
    if timestamp > wall_now + window:
        raise SandboxError(3_000_011, "timestamp is in the future")
    if timestamp < wall_now - window:
        raise SandboxError(3_000_012, "timestamp has expired")


def check_envelope(
    state: SandboxState, body: dict[str, Any], region: str, wall_now: int
) -> tuple[str, TokenGrant]:
    """Validate the common parameters of a request.

    Returns:
        The API type and the caller's token grant.

    Raises:
        SandboxError: the first failed check, with TEMU's gateway code.
    """
    api_type = _check_type(body)
    token = _check_token(state, body)
    _check_timestamp(body, wall_now, state.config.timestamp_window)
    data_type = _require(body, "data_type", 3_000_013)
    if str(data_type).lower() != "json":
        raise SandboxError(3_000_014, "data_type is invalid")
    sign = _require(body, "sign", 3_000_040)
    if sign != sign_request(state.config.app_secret, body):
        raise SandboxError(3_000_001, "sign is invalid, please check your sign calculation")
    if api_type not in token.scopes:
        raise SandboxError(3_000_032, "access_token don't have this api access")
    if api_type.startswith("bg.logistics.") and region != token.region:
        raise SandboxError(120_011_072, _WRONG_REGION)
    return api_type, token
