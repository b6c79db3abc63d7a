"""FastAPI dependencies: the runtime, a database session and the caller's identity and role.

Module routers protect their routes with ``require``::

    from jobwerk.sdk import Role, ViewerDep, require

    @router.post("/orders/sync", dependencies=[require(Role.OPERATOR)])
    async def sync_orders(...): ...

    @router.get("/info")
    async def info(principal: ViewerDep): ...
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from jobwerk.core import auth
from jobwerk.core.auth import Principal, Role
from jobwerk.core.cache import ExpiringCache
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


# Verified API keys, by hash. Revoking through this app clears it at once; a revocation made
# by another process (the CLI, another node) takes effect within the ttl.
KEY_CACHE_SECONDS = 5.0


def key_cache() -> ExpiringCache[Principal | None]:
    return ExpiringCache(KEY_CACHE_SECONDS, size=10_000)


def get_runtime(connection: HTTPConnection) -> Runtime:
    runtime: Runtime = connection.app.state.runtime
    return runtime


async def _runtime(connection: HTTPConnection) -> Runtime:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, one thread hop per request
    return get_runtime(connection)


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A read session for the request; writes go through ``runtime.transaction()``."""
    async with runtime.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


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
    connection: HTTPConnection, *, allow_query_key: bool = False
) -> Principal | None:
    """Who is calling: an API key (header, bearer or, for WebSockets, ``?api_key=``) or a
    session cookie. Returns None without credentials; raises 401 for invalid ones.

    A key verified in the last few seconds costs no database query.
    """
    key = connection.headers.get("x-api-key")
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if key is None and scheme.lower() == "bearer" and token:
        key = token.strip()
    if key is None and allow_query_key:
        key = connection.query_params.get("api_key")
    runtime = get_runtime(connection)
    if key is not None:
        static = runtime.settings.api.key

        async def resolve() -> Principal | None:
            async with runtime.db.read() as session:
                return await auth.resolve_api_key(
                    session, key, static.get_secret_value() if static else None
                )

        cache: ExpiringCache[Principal | None] = connection.app.state.key_cache
        found = await cache.get(auth.token_hash(key), resolve, keep=lambda p: p is not None)
        if found is None:
            raise _unauthorized("Invalid or revoked API key")
        return found
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie:
        async with runtime.db.read() as session:
            principal = await auth.resolve_session(session, cookie)
        if principal is None:
            raise _unauthorized("Session expired; log in again")
        return principal
    return None


async def current_principal(
    request: Request,
    _api_key: Annotated[str | None, Security(_key_header)],
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _session_cookie: Annotated[str | None, Security(_cookie)],
) -> Principal:
    """The authenticated caller; a cookie session must prove a mutation with its CSRF token.

    Raises:
        HTTPException: 401 without valid credentials; 403 for a failed CSRF/Origin check.
    """
    principal = await authenticate(request)
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
