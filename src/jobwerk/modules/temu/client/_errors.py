"""Typed TEMU errors, mapped from TEMU's ``errorCode`` values and from transport failures."""

from __future__ import annotations

__all__ = [
    "SUCCESS_CODE",
    "AuthError",
    "BusinessError",
    "MalformedResponseError",
    "PermissionDeniedError",
    "RateLimitError",
    "SignatureError",
    "TemuError",
    "TemuSystemError",
    "TokenExpiredError",
    "TransportError",
    "error_from_code",
]

SUCCESS_CODE = 1_000_000

_SIGNATURE_CODES = frozenset({3_000_001, 3_000_040})
_PERMISSION_CODES = frozenset({3_000_021, 3_000_027, 3_000_032})
_TOKEN_EXPIRED_CODES = frozenset({3_000_034})
_RATE_LIMIT_CODES = frozenset({4_000_004})
_SYSTEM_CODES = frozenset({4_000_000})
# Business codes TEMU documents as "try again later".
_TRANSIENT_BUSINESS_CODES = frozenset({140_020_008, 140_020_009, 150_010_005, 120_014_006})


class TemuError(Exception):
    """A TEMU call failed; ``error_code``/``error_msg`` are TEMU's when TEMU answered."""

    retryable: bool = False

    def __init__(
        self,
        error_msg: str,
        *,
        error_code: int | None = None,
        request_id: str | None = None,
        api_type: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        prefix = f"[{error_code}] " if error_code is not None else ""
        where = f" ({api_type}, requestId={request_id})" if api_type or request_id else ""
        super().__init__(f"{prefix}{error_msg}{where}")
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.api_type = api_type
        if retryable is not None:
            self.retryable = retryable


class AuthError(TemuError):
    """The gateway rejected the credentials or the envelope (app key, token, timestamp, IP)."""


class SignatureError(AuthError):
    """``sign`` missing or wrong (3000001/3000040): fix the signing or the clock, never retry."""


class TokenExpiredError(AuthError):
    """The access token expired or was refreshed (3000034): the seller must re-authorize."""


class PermissionDeniedError(TemuError):
    """The token lacks this API (3000032), e.g. the whitelisted amount query."""


class RateLimitError(TemuError):
    """TEMU's rate limit hit (4000004 or HTTP 429); retried with back-off."""

    retryable = True


class TemuSystemError(TemuError):
    """TEMU system error (4000000) or an HTTP 5xx from the gateway; retried with back-off."""

    retryable = True


class TransportError(TemuError):
    """Network failure or timeout; ``request_sent`` is False when the request never left."""

    retryable = True

    def __init__(self, error_msg: str, *, request_sent: bool, api_type: str | None = None) -> None:
        super().__init__(error_msg, api_type=api_type)
        self.request_sent = request_sent


class MalformedResponseError(TemuError):
    """The body is not JSON, not TEMU's envelope, or ``result`` does not have the expected shape."""


class BusinessError(TemuError):
    """TEMU refused the request for a business reason (bad parameters, order state, …)."""


def _error_class(error_code: int) -> type[TemuError]:
    if error_code in _SIGNATURE_CODES:
        return SignatureError
    if error_code in _TOKEN_EXPIRED_CODES:
        return TokenExpiredError
    if error_code in _PERMISSION_CODES:
        return PermissionDeniedError
    if error_code in _RATE_LIMIT_CODES:
        return RateLimitError
    if error_code in _SYSTEM_CODES:
        return TemuSystemError
    if 3_000_001 <= error_code < 4_000_000 or 5_000_000 <= error_code < 6_000_000:
        return AuthError
    return BusinessError


def error_from_code(
    error_code: int, error_msg: str, *, request_id: str | None, api_type: str | None
) -> TemuError:
    """Build the typed error for a TEMU ``errorCode``.

    Args:
        error_code: TEMU's ``errorCode`` (not 1000000).
        error_msg: TEMU's ``errorMsg``.
        request_id: TEMU's ``requestId``, kept for support tickets.
        api_type: the API name that was called.

    Returns:
        The most specific :class:`TemuError` subclass for the code; business codes TEMU
        documents as "try again later" come back retryable.
    """
    return _error_class(error_code)(
        error_msg,
        error_code=error_code,
        request_id=request_id,
        api_type=api_type,
        retryable=True if error_code in _TRANSIENT_BUSINESS_CODES else None,
    )
