"""The envelope, signing, retry, rate-limit and audit machinery behind every TEMU call."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

import httpx

from ._audit import ExchangeHook, ExchangeRecord, redact
from ._errors import (
    SUCCESS_CODE,
    MalformedResponseError,
    RateLimitError,
    TemuError,
    TemuSystemError,
    TransportError,
    error_from_code,
)
from ._gateways import Region, router_url
from ._ratelimit import DEFAULT_RATE_LIMIT, TokenBucket, bucket_for_app_key
from ._signing import sign_request

__all__ = ["BaseTemuClient"]

logger = logging.getLogger("jobwerk.modules.temu.client")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(slots=True)
class _Outcome:
    status_code: int | None = None
    body: Any = None
    request_id: str | None = None


def _should_retry(exc: TemuError, idempotent: bool) -> bool:
    if not exc.retryable:
        return False
    if idempotent:
        return True
    # A write whose outcome is unknown must be verified, not repeated; these never reached TEMU.
    if isinstance(exc, RateLimitError):
        return True
    return isinstance(exc, TransportError) and not exc.request_sent


def _decode_body(response: httpx.Response, api_type: str, outcome: _Outcome) -> dict[str, Any]:
    outcome.body = response.text
    if response.status_code == 429:
        raise RateLimitError(f"HTTP 429 from gateway: {response.text[:200]}", api_type=api_type)
    if response.status_code >= 500:
        msg = f"HTTP {response.status_code} from gateway: {response.text[:200]}"
        raise TemuSystemError(msg, api_type=api_type)
    try:
        payload = json.loads(response.text)
    except ValueError as exc:
        raise MalformedResponseError(
            f"HTTP {response.status_code}, body is not JSON: {response.text[:200]!r}",
            api_type=api_type,
            retryable=True,
        ) from exc
    outcome.body = payload
    if not isinstance(payload, dict) or "success" not in payload:
        raise MalformedResponseError("response is not TEMU's envelope", api_type=api_type)
    return payload


def _unwrap(payload: dict[str, Any], api_type: str, outcome: _Outcome) -> Any:
    request_id = payload.get("requestId")
    outcome.request_id = request_id if isinstance(request_id, str) else None
    code = payload.get("errorCode")
    if payload.get("success") is True and code == SUCCESS_CODE:
        return payload.get("result")
    if not isinstance(code, int) or code == SUCCESS_CODE:
        raise MalformedResponseError(
            f"inconsistent envelope: success={payload.get('success')!r}, errorCode={code!r}",
            api_type=api_type,
            request_id=outcome.request_id,
        )
    msg = str(payload.get("errorMsg") or "")
    raise error_from_code(code, msg, request_id=outcome.request_id, api_type=api_type)


class BaseTemuClient:
    """Signed, rate-limited, retried POSTs to one TEMU router URL.

    Args:
        app_key: the app key from the developer portal.
        app_secret: the app secret (signs requests; never sent, never logged).
        access_token: the shop's access token.
        region: ``eu``, ``us`` or ``global``; picks the router URL unless ``base_url`` is given.
        base_url: a full router URL (e.g. the sandbox's), overrides ``region``.
        timeout: seconds per HTTP attempt.
        max_retries: extra attempts for retryable failures.
        rate_limit: requests per second for this app key, shared by every client in the process
            using the same key; None disables client-side limiting.
        backoff_base: first retry delay in seconds, doubled per attempt, with jitter.
        backoff_max: upper bound of one retry delay.
        transport: an httpx transport (tests: ``httpx.MockTransport``).
        on_exchange: called (sync or async) with an :class:`ExchangeRecord` per HTTP attempt.
        clock: UNIX-seconds clock for the ``timestamp`` parameter.
    """

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        access_token: str,
        region: Region | str = Region.EU,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        backoff_base: float = 0.5,
        backoff_max: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_exchange: ExchangeHook | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_key = app_key
        self._app_secret = app_secret
        self._access_token = access_token
        self.base_url = base_url or router_url(region)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._on_exchange = on_exchange
        self._clock = clock
        self._bucket: TokenBucket | None = (
            bucket_for_app_key(app_key, rate_limit) if rate_limit else None
        )
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        """Close the underlying HTTP connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _envelope(self, api_type: str, business: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": api_type,
            "app_key": self.app_key,
            "access_token": self._access_token,
            "timestamp": int(self._clock()),
            "data_type": "JSON",
            "version": "V1",
        }
        body.update(business)
        body["sign"] = sign_request(self._app_secret, body)
        return body

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (1 << attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def call(
        self, api_type: str, params: Mapping[str, Any] | None = None, *, idempotent: bool = True
    ) -> Any:
        """Call one TEMU API and return its ``result``.

        Args:
            api_type: the API name, e.g. ``bg.order.list.v2.get``.
            params: business parameters; None values are left out (never sent as null).
            idempotent: False for writes whose repetition is harmful (shipment confirm): then
                only failures that certainly did not reach TEMU are retried.

        Returns:
            The ``result`` member of TEMU's envelope (object, array or None).

        Raises:
            TemuError: the typed failure after retries were exhausted or not allowed.
        """
        business = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            if self._bucket is not None:
                await self._bucket.acquire()
            try:
                return await self._attempt(api_type, business, attempt)
            except TemuError as exc:
                if attempt >= self.max_retries or not _should_retry(exc, idempotent):
                    raise
                delay = self._backoff(attempt)
                logger.warning(
                    "TEMU %s attempt %d failed (%s); retry in %.2fs",
                    api_type,
                    attempt + 1,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                attempt += 1

    async def _attempt(self, api_type: str, business: Mapping[str, Any], attempt: int) -> Any:
        body = self._envelope(api_type, business)
        started_at = datetime.now(UTC)
        t0 = time.perf_counter()
        outcome = _Outcome()
        error: TemuError | None = None
        try:
            response = await self._post(body, api_type)
            outcome.status_code = response.status_code
            payload = _decode_body(response, api_type, outcome)
            return _unwrap(payload, api_type, outcome)
        except TemuError as exc:
            error = exc
            raise
        finally:
            record = ExchangeRecord(
                api_type=api_type,
                url=self.base_url,
                attempt=attempt,
                started_at=started_at,
                duration_ms=(time.perf_counter() - t0) * 1000,
                request_params=redact(body),
                status_code=outcome.status_code,
                response_body=redact(outcome.body),
                request_id=outcome.request_id,
                error=f"{type(error).__name__}: {error}" if error else None,
            )
            await self._emit(record)

    async def _post(self, body: Mapping[str, Any], api_type: str) -> httpx.Response:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            return await self._http.post(
                self.base_url, content=content, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise TransportError(
                f"{type(exc).__name__}: {exc}",
                request_sent=not isinstance(exc, _NOT_SENT),
                api_type=api_type,
            ) from exc

    async def _emit(self, record: ExchangeRecord) -> None:
        if self._on_exchange is None:
            return
        try:
            maybe = self._on_exchange(record)
            if inspect.isawaitable(maybe):
                await maybe
        except Exception:
            logger.exception("on_exchange hook failed for %s", record.api_type)
