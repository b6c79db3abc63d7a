"""FastAPI dependencies: the runtime, a database session and the caller's identity and role.

Module routers protect their routes with ``require``::

    from jobwerk.api.deps import OperatorDep, require
    from jobwerk.core.auth import Role

    @router.post("/orders/sync", dependencies=[require(Role.OPERATOR)])
    async def sync_orders(...): ...

    @router.get("/info")
    async def info(principal: ViewerDep): ...
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from jobwerk.core import auth
from jobwerk.core.auth import Principal, Role
from jobwerk.core.runtime import Runtime

SESSION_COOKIE = "jobwerk_session"
CSRF_COOKIE = "jobwerk_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (`jobwerk keys create`)"
)
_bearer = HTTPBearer(auto_error=False, description="An API key as a bearer token")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Dashboard session (POST /api/v1/auth/login)"
)


class KeyCache:
    """Recently verified API keys (by hash) for a few seconds, to spare a query per request.

    Revoking through this app clears it at once; a revocation made by another process (the
    CLI, another node) takes effect within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 5.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, key: str) -> Principal | None:
        entry = self._entries.get(auth.token_hash(key))
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key: str, principal: Principal) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[auth.token_hash(key)] = (principal, time.monotonic() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()


def get_runtime(connection: HTTPConnection) -> Runtime:
    runtime: Runtime = connection.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A read session for the request; writes go through ``runtime.transaction()``."""
    async with runtime.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A read-only session for the request (no transaction round trips on SQLite)."""
    async with runtime.db.read() as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


def request_id(connection: HTTPConnection) -> str | None:
    """The request id the middleware assigned (also bound in structlog's context)."""
    value: str | None = connection.scope.get("state", {}).get("request_id")
    return value


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        401, message, headers={"WWW-Authenticate": 'Bearer, ApiKey realm="jobwerk"'}
    )


def same_origin(connection: HTTPConnection) -> bool:
    """True when the request carries no ``Origin`` or one this server (or CORS) allows."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    runtime = get_runtime(connection)
    if origin in runtime.settings.api.cors_origins:
        return True
    return urlsplit(origin).netloc == connection.headers.get("host")


async def authenticate(
    connection: HTTPConnection, session: AsyncSession, *, allow_query_key: bool = False
) -> Principal | None:
    """Who is calling: an API key (header, bearer or, for WebSockets, ``?api_key=``) or a
    session cookie. Returns None without credentials; raises 401 for invalid ones."""
    key = connection.headers.get("x-api-key")
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if key is None and scheme.lower() == "bearer" and token:
        key = token.strip()
    if key is None and allow_query_key:
        key = connection.query_params.get("api_key")
    settings = get_runtime(connection).settings
    if key is not None:
        cache: KeyCache = connection.app.state.key_cache
        principal = cache.get(key)
        if principal is None:
            static = settings.api.key.get_secret_value() if settings.api.key else None
            principal = await auth.resolve_api_key(session, key, static)
            if principal is None:
                raise _unauthorized("Invalid or revoked API key")
            cache.put(key, principal)
        return principal
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = await auth.resolve_session(session, cookie)
        if principal is None:
            raise _unauthorized("Session expired; log in again")
        return principal
    return None


async def current_principal(
    request: Request,
    session: SessionDep,
    _api_key: Annotated[str | None, Security(_key_header)],
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _session_cookie: Annotated[str | None, Security(_cookie)],
) -> Principal:
    """The authenticated caller; a cookie session must prove a mutation with its CSRF token.

    Raises:
        HTTPException: 401 without valid credentials; 403 for a failed CSRF/Origin check.
    """
    principal = await authenticate(request, session)
    if principal is None:
        raise _unauthorized("Not authenticated: send X-API-Key, a bearer key or log in")
    if principal.kind == "user" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER.lower(), "")
        expected = principal.csrf_token or ""
        if not (sent and hmac.compare_digest(sent, expected)) or not same_origin(request):
            raise HTTPException(403, f"CSRF check failed: send the {CSRF_HEADER} header")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(role: Role) -> Any:
    """A dependency that admits callers with ``role`` or a higher one (401 / 403 otherwise).

    Use it in ``dependencies=[require(Role.OPERATOR)]`` or as
    ``Annotated[Principal, require(Role.ADMIN)]``.
    """

    async def check_role(principal: PrincipalDep) -> Principal:
        if not principal.role.allows(role):
            raise HTTPException(403, f"Needs the {role.value} role; you are {principal.role.value}")
        return principal

    check_role.__name__ = f"require_{role.value}"
    return Depends(check_role)


ViewerDep = Annotated[Principal, require(Role.VIEWER)]
OperatorDep = Annotated[Principal, require(Role.OPERATOR)]
AdminDep = Annotated[Principal, require(Role.ADMIN)]
