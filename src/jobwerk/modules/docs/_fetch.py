"""HTTP fetching: SSRF-pinned connections, manual redirects, politeness, retries, size caps."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from ._models import PUBLIC_MAX_CONCURRENCY, PUBLIC_MAX_RATE, Credentials, ScrapeSettings
from ._ssrf import IPAddress, SSRFGuard, UnsafeTarget
from ._urls import origin

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = ("text/html", "application/xhtml+xml")


class FetchError(Exception):
    """A fetch that failed for good (after retries); ``reason`` is short and loggable."""

    def __init__(self, reason: str, status_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class OutOfScopeRedirect(Exception):
    """A redirect left the crawl scope; the page is skipped, not failed."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


@dataclass
class Response:
    """A completed fetch: final URL, status, headers and (possibly truncated-free) body."""

    url: str
    final_url: str
    status_code: int
    headers: httpx.Headers
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased."""
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset parameter of Content-Type, if any."""
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                return value.strip().strip("\"'") or None
        return None


@dataclass
class _Host:
    interval: float
    concurrency: asyncio.Semaphore
    next_slot: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Fetcher:
    """One crawl's HTTP side. Use as an async context manager."""

    def __init__(
        self,
        settings: ScrapeSettings,
        *,
        user_agent: str,
        timeout: float,
        rate_limit: float,
        concurrency: int,
        credentials: Credentials | None = None,
        auth_origin: str | None = None,
    ) -> None:
        self.settings = settings
        self.guard = SSRFGuard(settings)
        self._rate_limit = rate_limit
        self._concurrency = concurrency
        self._credentials = credentials
        self._auth_origin = auth_origin
        self._hosts: dict[str, _Host] = {}
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            limits=httpx.Limits(
                max_connections=max(64, concurrency), max_keepalive_connections=max(32, concurrency)
            ),
        )
        self.bytes_fetched = 0

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    def set_crawl_delay(self, url: str, delay: float) -> None:
        """Honour robots.txt ``Crawl-delay`` as a minimum interval for the host."""
        host = self._host(url)
        host.interval = max(host.interval, delay)

    def _host(self, url: str, ip: IPAddress | None = None) -> _Host:
        key = origin(url)
        host = self._hosts.get(key)
        if host is None:
            name = urlsplit(url).hostname or ""
            unthrottled = name in self.settings.unthrottled_hosts
            owned = unthrottled or (ip is not None and self.guard.allow_listed(name, ip))
            interval = 0.0 if unthrottled else request_interval(self._rate_limit, owned=owned)
            concurrency = parallel_requests(self._concurrency, owned=owned)
            host = _Host(interval, asyncio.Semaphore(concurrency))
            self._hosts[key] = host
        return host

    async def _wait_slot(self, host: _Host) -> None:
        async with host.lock:
            now = time.monotonic()
            start = max(now, host.next_slot)
            host.next_slot = start + host.interval
        if start > now:
            await asyncio.sleep(start - now)

    async def get(
        self,
        url: str,
        *,
        extra_headers: dict[str, str] | None = None,
        in_scope: Callable[[str], bool] | None = None,
        accept: tuple[str, ...] | None = HTML_TYPES,
        max_bytes: int | None = None,
    ) -> Response:
        """GET ``url`` following redirects by hand, each hop SSRF- and scope-checked.

        Raises:
            UnsafeTarget: a hop was refused by the SSRF guard.
            OutOfScopeRedirect: a redirect left ``in_scope``.
            FetchError: HTTP error after retries, size cap, wrong content type, network error.
        """
        current = url
        for _ in range(self.settings.max_redirects + 1):
            response = await self._get_with_retries(current, extra_headers, accept, max_bytes)
            if response.status_code not in _REDIRECT_STATUSES:
                response.url = url
                return response
            location = response.headers.get("location")
            if not location:
                raise FetchError("redirect without Location", response.status_code)
            target = urlunsplit(
                urlsplit(str(httpx.URL(current).join(location)))._replace(fragment="")
            )
            if in_scope is not None and not in_scope(target):
                raise OutOfScopeRedirect(target)
            current = target
        raise FetchError("too many redirects")

    async def _get_with_retries(
        self,
        url: str,
        extra_headers: dict[str, str] | None,
        accept: tuple[str, ...] | None,
        max_bytes: int | None,
    ) -> Response:
        host = self._host(url, await self.guard.resolve(url))
        attempt = 0
        while True:
            async with host.concurrency:
                await self._wait_slot(host)
                try:
                    response = await self._get_once(url, extra_headers, accept, max_bytes)
                except (httpx.TransportError, httpx.StreamError) as exc:
                    if attempt >= self.settings.max_retries:
                        raise FetchError(_network_error(exc)) from exc
                    response = None
            if response is not None and response.status_code not in _RETRY_STATUSES:
                if response.status_code >= 400:
                    raise FetchError(f"HTTP {response.status_code}", response.status_code)
                return response
            if attempt >= self.settings.max_retries:
                status = response.status_code if response else None
                raise FetchError(f"HTTP {status} after {attempt + 1} attempts", status)
            delay = self._retry_delay(response, attempt)
            host.next_slot = max(host.next_slot, time.monotonic() + delay)
            await asyncio.sleep(delay)
            attempt += 1

    def _retry_delay(self, response: Response | None, attempt: int) -> float:
        backoff = self.settings.backoff_base * (2.0**attempt) * (1 + random.random() / 2)
        if response is None:
            return backoff
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is None:
            return backoff
        if retry_after > self.settings.max_retry_after:
            raise FetchError(f"Retry-After {retry_after:.0f}s too long", response.status_code)
        return retry_after

    async def _get_once(
        self,
        url: str,
        extra_headers: dict[str, str] | None,
        accept: tuple[str, ...] | None,
        max_bytes: int | None,
    ) -> Response:
        ip = await self.guard.resolve(url)
        parts = urlsplit(url)
        host_header = parts.netloc.rsplit("@", 1)[-1]
        ip_text = f"[{ip}]" if ip.version == 6 else str(ip)
        port = f":{parts.port}" if parts.port else ""
        pinned = urlunsplit((parts.scheme, ip_text + port, parts.path or "/", parts.query, ""))
        headers = {"Host": host_header, **(extra_headers or {})}
        if self._credentials and origin(url) == self._auth_origin:
            headers.update(self._credentials.headers)
            if self._credentials.cookies:
                headers["Cookie"] = "; ".join(
                    f"{k}={v}" for k, v in self._credentials.cookies.items()
                )
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        request = self._client.build_request("GET", pinned, headers=headers, extensions=extensions)
        response = await self._client.send(request, stream=True)
        try:
            body = b""
            ok = response.status_code == 200
            if ok and accept is not None:
                media = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if media and media not in accept:
                    raise FetchError(f"not HTML ({media})", 200)
            if ok:
                body = await self._read_capped(response, max_bytes or self.settings.max_page_bytes)
            return Response(url, url, response.status_code, response.headers, body)
        finally:
            await response.aclose()

    async def _read_capped(self, response: httpx.Response, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchError(f"page larger than {limit} bytes", response.status_code)
            chunks.append(chunk)
        self.bytes_fetched += size
        return b"".join(chunks)


def request_interval(rate_limit: float, *, owned: bool) -> float:
    """Seconds between two requests to one host (``rate_limit`` 0: no limit of the user's).

    Hosts outside the operator's allow-list are never asked faster than ``PUBLIC_MAX_RATE``.
    """
    if owned:
        return 0.0 if rate_limit == 0 else 1.0 / rate_limit
    return 1.0 / min(rate_limit or PUBLIC_MAX_RATE, PUBLIC_MAX_RATE)


def parallel_requests(concurrency: int, *, owned: bool) -> int:
    """Requests in flight to one host: at most ``PUBLIC_MAX_CONCURRENCY`` outside the allow-list."""
    return concurrency if owned else min(concurrency, PUBLIC_MAX_CONCURRENCY)


def _network_error(exc: Exception) -> str:
    """``network error: …`` in the OS's words (``Connection refused``) when the cause has them."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno:
            return f"network error: {os.strerror(cause.errno)}"
        cause = cause.__cause__ or cause.__context__
    return f"network error: {type(exc).__name__}"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


__all__ = [
    "HTML_TYPES",
    "FetchError",
    "Fetcher",
    "OutOfScopeRedirect",
    "Response",
    "UnsafeTarget",
    "parallel_requests",
    "parse_retry_after",
    "request_interval",
]
