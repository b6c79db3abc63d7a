"""Pure ASGI middleware: request ids, timing, access log, metrics, the last-resort error
handler, per-client rate limiting and the request body size limit."""

from __future__ import annotations

import math
import re
import time
import uuid
from datetime import UTC, datetime

import structlog
from fastapi import HTTPException
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobwerk.api.metrics import Metrics

log = structlog.get_logger("jobwerk.http")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestContextMiddleware:
    """Assigns ``X-Request-ID`` (keeping a sane incoming one), binds it into structlog's context,
    adds ``X-Process-Time``, logs one access line and counts the request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id")
        rid = incoming if incoming and REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=rid)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                headers["X-Process-Time"] = f"{time.perf_counter() - start:.6f}"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_request(scope["method"], route, status, seconds)
            fields = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round(seconds * 1000, 2),
                "client": (scope.get("client") or ("-",))[0],
            }
            if status == 429:
                # Throttled requests are an attack's or a runaway client's noise: as a warning
                # with an error they are collapsed into a count per route a minute.
                log.warning("request throttled", **fields, error=f"429 on {route}")
            else:
                log.info("request", **fields)


class UnhandledErrorMiddleware:
    """Turns any unhandled error into a JSON 500 without internals. It sits inside CORS, so
    an allowed origin can read the answer, and inside the request context, which adds the
    request id and counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unhandled error", path=scope["path"], method=scope["method"])
            if started:
                raise
            rid = scope.get("state", {}).get("request_id") or uuid.uuid4().hex
            await server_error(scope["path"], rid)(scope, receive, send)


def server_error(path: str, rid: str) -> JSONResponse:
    """The body of every 500: a message, the path, the time and the request id."""
    return JSONResponse(
        {
            "detail": "Internal Server Error",
            "path": path,
            "timestamp": datetime.now(UTC).isoformat(),
            "request_id": rid,
        },
        status_code=500,
    )


class RateLimitMiddleware:
    """Token bucket per client address for mutating requests: ``per_minute`` tokens that refill
    continuously; an empty bucket answers 429 with ``Retry-After``."""

    MAX_CLIENTS = 50_000

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str, now: float) -> float:
        """Take a token; returns 0 when allowed, else the seconds until one is available."""
        tokens, last = self.buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[client] = (tokens - 1, now)
            return 0.0
        self.buckets[client] = (tokens, now)
        return (1 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        if len(self.buckets) > self.MAX_CLIENTS:
            full = self.capacity / self.rate
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < full}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in MUTATING:
            now = time.monotonic()
            self._prune(now)
            client = (scope.get("client") or ("unknown",))[0]
            wait = self.take(client, now)
            if wait:
                response = JSONResponse(
                    {"detail": "Too many requests; slow down", "status": 429},
                    status_code=429,
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses request bodies larger than ``max_bytes`` with 413, by ``Content-Length`` or while
    the body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            status = 413 if length.isdigit() else 400
            detail = "Request body too large" if status == 413 else "Invalid Content-Length"
            body = {"detail": detail, "status": status}
            await JSONResponse(body, status_code=status)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, "Request body too large")
            return message

        await self.app(scope, receive if length is not None else limited_receive, send)
