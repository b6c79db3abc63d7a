"""``/api/v1/auth``: dashboard login sessions, users and API keys."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from jobwerk.api.schemas.auth import (
    KeyCreate,
    KeyCreated,
    KeyRead,
    LoginBody,
    LoginRead,
    SessionRead,
    UserCreate,
    UserRead,
)
from jobwerk.core import auth
from jobwerk.core.auth import Role
from jobwerk.core.login import LoginThrottle
from jobwerk.sdk.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AdminDep,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
    ViewerDep,
)
from jobwerk.sdk.schemas import AUTH, responses
from jobwerk.storage.auth_models import ApiKey, User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=responses(400, 413, 429))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.post(
    "/login",
    summary="Log in to the dashboard",
    description=(
        "Sets an HttpOnly, SameSite=Strict session cookie. Mutations made with the cookie must "
        "send the returned `csrf_token` in the X-CSRF-Token header."
    ),
    responses=responses(401, 422, 503),
)
async def login(
    body: LoginBody, request: Request, response: Response, runtime: RuntimeDep
) -> LoginRead:
    hours = runtime.settings.api.session_hours
    address = request.client.host if request.client else "unknown"
    throttle: LoginThrottle = request.app.state.login_throttle
    throttle.attempt(address, body.username)
    gate = request.app.state.hash_gate
    found = await auth.login(runtime.db, gate, body.username, body.password, hours)
    if found is None:
        raise HTTPException(401, "Wrong username or password")
    throttle.succeeded(address, body.username)
    user, token, row = found
    max_age = int(hours * 3600)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        row.csrf_token,
        max_age=max_age,
        httponly=False,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    return LoginRead(
        kind="user",
        name=user.username,
        role=Role(user.role),
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )


@router.post("/logout", summary="End the dashboard session", status_code=204, responses=AUTH)
async def logout(request: Request, runtime: RuntimeDep, _: PrincipalDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with runtime.transaction() as session:
            await auth.end_session(session, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/session", summary="Who am I", responses=AUTH)
async def current_session(principal: ViewerDep) -> SessionRead:
    return SessionRead(
        kind=principal.kind,
        name=principal.name,
        role=principal.role,
        csrf_token=principal.csrf_token,
    )


def _user_read(user: User) -> UserRead:
    return UserRead(
        username=user.username,
        role=Role(user.role),
        enabled=user.enabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def _key_read(key: ApiKey) -> KeyRead:
    return KeyRead(
        name=key.name,
        role=Role(key.role),
        prefix=key.prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.get("/users", summary="List users", responses=AUTH)
async def list_users(session: SessionDep, _: AdminDep) -> list[UserRead]:
    return [_user_read(user) for user in await auth.list_users(session)]


@router.post(
    "/users", summary="Create a user", status_code=201, responses={**AUTH, **responses(409, 422)}
)
async def create_user(body: UserCreate, runtime: RuntimeDep, _: AdminDep) -> UserRead:
    async with runtime.transaction() as session:
        user = await auth.create_user(session, body.username, body.password, body.role)
    return _user_read(user)


@router.delete(
    "/users/{username}",
    summary="Delete a user",
    status_code=204,
    responses={**AUTH, **responses(404)},
)
async def delete_user(username: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    async with runtime.transaction() as session:
        await auth.delete_user(session, username)
    return Response(status_code=204)


@router.get("/keys", summary="List API keys", responses=AUTH)
async def list_keys(session: SessionDep, _: AdminDep) -> list[KeyRead]:
    return [_key_read(key) for key in await auth.list_api_keys(session)]


@router.post(
    "/keys",
    summary="Create an API key",
    description="The key is in the answer once; only its hash is stored.",
    status_code=201,
    responses={**AUTH, **responses(409, 422)},
)
async def create_key(body: KeyCreate, runtime: RuntimeDep, _: AdminDep) -> KeyCreated:
    async with runtime.transaction() as session:
        row, key = await auth.create_api_key(session, body.name, body.role)
    return KeyCreated(**_key_read(row).model_dump(), key=key)


@router.delete("/keys/{name}", summary="Revoke an API key", responses={**AUTH, **responses(404)})
async def revoke_key(name: str, request: Request, runtime: RuntimeDep, _: AdminDep) -> KeyRead:
    async with runtime.transaction() as session:
        row = await auth.revoke_api_key(session, name)
    request.app.state.key_cache.clear()
    return _key_read(row)
