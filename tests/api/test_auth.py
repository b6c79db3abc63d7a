"""Authentication and roles: the matrix of routes × callers, sessions with CSRF, users and keys."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from jobwerk.core import auth
from jobwerk.core.runtime import Runtime
from jobwerk.storage.auth_models import AuthSession
from jobwerk.storage.models import utcnow
from tests.support.api import ADMIN, http_client, key_headers, login, make_settings, running_app

ROLES = ("viewer", "operator", "admin")
# (method, path, body, the lowest role admitted)
ROUTES = [
    ("GET", "/api/jobs", None, "viewer"),
    ("GET", "/api/jobs/demo_example", None, "viewer"),
    ("POST", "/api/jobs/demo_example/run-now", {"items": 1, "delay": 0}, "operator"),
    ("POST", "/api/jobs/demo_example/toggle?enabled=true", None, "operator"),
    ("POST", "/api/jobs/demo_example/schedule", {"interval_minutes": 10}, "admin"),
    ("GET", "/api/v1/jobs", None, "viewer"),
    ("GET", "/api/v1/jobs/unknown", None, "viewer"),
    ("GET", "/api/v1/jobs/unknown/logs", None, "viewer"),
    ("DELETE", "/api/v1/jobs/unknown", None, "operator"),
    ("POST", "/api/v1/jobs/unknown/retry", None, "operator"),
    ("GET", "/api/v1/system/stats", None, "viewer"),
    ("GET", "/api/v1/system/metrics", None, "viewer"),
    ("GET", "/api/v1/auth/session", None, "viewer"),
    ("GET", "/api/v1/auth/users", None, "admin"),
    ("GET", "/api/v1/auth/keys", None, "admin"),
    ("POST", "/api/v1/auth/keys", {"name": "made-in-matrix", "role": "viewer"}, "admin"),
    ("DELETE", "/api/v1/auth/keys/nobody", None, "admin"),
    ("POST", "/api/v1/auth/users", {"username": "matrix", "password": "long enough"}, "admin"),
    ("DELETE", "/api/v1/auth/users/nobody", None, "admin"),
    ("POST", "/api/v1/auth/logout", None, "viewer"),
]
PUBLIC = [
    "/health",
    "/api/health",
    "/livez",
    "/readyz",
    "/api/v1/system/health",
    "/api/v1/system/ping",
    "/api/v1/system/version",
    "/api/openapi.json",
    "/api/docs",
    "/docs",
    "/api/redoc",
    "/",
]


@pytest.mark.parametrize(("method", "path", "body", "lowest"), ROUTES)
async def test_role_matrix(
    api: httpx.AsyncClient,
    keys: dict[str, str],
    method: str,
    path: str,
    body: dict[str, object] | None,
    lowest: str,
) -> None:
    anonymous = await api.request(method, path, json=body)
    assert anonymous.status_code == 401
    assert "WWW-Authenticate" in anonymous.headers
    for role in ROLES:
        answer = await api.request(method, path, json=body, headers=key_headers(keys[role]))
        if ROLES.index(role) < ROLES.index(lowest):
            assert answer.status_code == 403, (role, answer.text)
        else:
            assert answer.status_code not in (401, 403), (role, answer.text)


@pytest.mark.parametrize("path", PUBLIC)
async def test_public_routes_need_no_credentials(api: httpx.AsyncClient, path: str) -> None:
    assert (await api.get(path)).status_code == 200


async def test_bearer_wrong_and_revoked_keys(api: httpx.AsyncClient, keys: dict[str, str]) -> None:
    bearer = {"Authorization": f"Bearer {keys['viewer']}"}
    assert (await api.get("/api/jobs", headers=bearer)).status_code == 200
    assert (await api.get("/api/jobs", headers=key_headers("jwk_wrong"))).status_code == 401
    revoked = await api.delete("/api/v1/auth/keys/test-viewer", headers=ADMIN)
    assert revoked.json()["revoked_at"] is not None
    assert (await api.get("/api/jobs", headers=bearer)).status_code == 401
    listed = (await api.get("/api/v1/auth/keys", headers=ADMIN)).json()
    assert all("key" not in entry for entry in listed)
    assert (await api.delete("/api/v1/auth/keys/none", headers=ADMIN)).status_code == 404
    again = await api.post("/api/v1/auth/keys", json={"name": "test-viewer"}, headers=ADMIN)
    assert again.status_code == 409


async def test_session_login_csrf_and_logout(api: httpx.AsyncClient) -> None:
    session = await login(api)
    assert session["role"] == "operator"
    assert (await api.get("/api/jobs")).status_code == 200
    url = "/api/jobs/demo_example/toggle?enabled=true"
    assert (await api.post(url)).status_code == 403  # no CSRF token
    csrf = {"X-CSRF-Token": session["csrf_token"]}
    assert (await api.post(url, headers={"X-CSRF-Token": "forged"})).status_code == 403
    foreign = {**csrf, "Origin": "https://evil.example"}
    assert (await api.post(url, headers=foreign)).status_code == 403
    assert (await api.post(url, headers=csrf)).status_code == 200
    me = (await api.get("/api/v1/auth/session")).json()
    assert me["name"] == "ann-operator" and me["kind"] == "user"
    assert (await api.post("/api/v1/auth/logout", headers=csrf)).status_code == 204
    assert (await api.get("/api/jobs")).status_code == 401


async def test_wrong_password_and_expired_session(
    api: httpx.AsyncClient, app_runtime: Runtime
) -> None:
    await login(api, "viewer")
    wrong = await api.post(
        "/api/v1/auth/login", json={"username": "ann-viewer", "password": "wrong password"}
    )
    assert wrong.status_code == 401
    unknown = await api.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert unknown.status_code == 401
    async with app_runtime.transaction() as session:
        await session.execute(
            update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    answer = await api.get("/api/jobs")
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]


async def test_users_admin(api: httpx.AsyncClient) -> None:
    await login(api, "admin")
    users = (await api.get("/api/v1/auth/users", headers=ADMIN)).json()
    assert [user["username"] for user in users] == ["ann-admin"]
    short = await api.post(
        "/api/v1/auth/users", json={"username": "bob", "password": "short"}, headers=ADMIN
    )
    assert short.status_code == 422
    bad_name = await api.post(
        "/api/v1/auth/users", json={"username": "a b", "password": "long enough"}, headers=ADMIN
    )
    assert bad_name.status_code == 422
    assert (await api.delete("/api/v1/auth/users/ann-admin", headers=ADMIN)).status_code == 204
    assert (await api.delete("/api/v1/auth/users/ann-admin", headers=ADMIN)).status_code == 404


async def test_first_admin_is_created_once(api: httpx.AsyncClient, app_runtime: Runtime) -> None:
    async with app_runtime.transaction() as session:
        password = await auth.create_first_admin(session)
    assert password is not None
    async with app_runtime.transaction() as session:
        assert await auth.create_first_admin(session) is None
    answer = await api.post("/api/v1/auth/login", json={"username": "admin", "password": password})
    assert answer.json()["role"] == "admin"


# Routes of the whole document (every module) that answer without credentials.
OPEN = {
    ("GET", "/"),
    ("GET", "/temu"),
    ("GET", "/health"),
    ("GET", "/api/health"),
    ("GET", "/livez"),
    ("GET", "/readyz"),
    ("GET", "/api/v1/system/health"),
    ("GET", "/api/v1/system/version"),
    ("GET", "/api/v1/system/ping"),
    ("POST", "/api/v1/auth/login"),
}


async def test_every_other_route_of_every_module_needs_credentials(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).model_copy(update={"modules": None})
    async with running_app(settings) as app, http_client(app) as api:
        operations = [
            (method.upper(), path)
            for path, item in app.openapi()["paths"].items()
            for method in item
        ]
        assert len(operations) > 70 and set(operations) >= OPEN
        for method, path in operations:
            if (method, path) in OPEN:
                continue
            answer = await api.request(method, re.sub(r"\{[^}]+\}", "x", path))
            assert answer.status_code == 401, (method, path, answer.status_code)
