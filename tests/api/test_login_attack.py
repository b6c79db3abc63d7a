"""Login under attack: throttled before hashing, bounded hashing, 503 (never 500) when the
database is busy, and no password in the log when a login fails unexpectedly."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from jobwerk.core import auth
from jobwerk.core.login import HashGate
from tests.support.api import ADMIN, STATIC_KEY

LOGIN = "/api/v1/auth/login"
PASSWORD = "correct horse battery staple"


class CountingGate(HashGate):
    def __init__(self) -> None:
        super().__init__()
        self.hashed = 0

    async def run(self, function: Callable[..., Any], *args: object) -> Any:
        self.hashed += 1
        return await super().run(function, *args)


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 4711))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def add_user(client: httpx.AsyncClient, name: str = "ann") -> None:
    body = {"username": name, "password": PASSWORD, "role": "operator"}
    created = await client.post("/api/v1/auth/users", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text


async def test_guessing_one_name_is_refused_before_hashing(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    await add_user(api)
    gate = app.state.hash_gate = CountingGate()
    async with from_address(app, "203.0.113.7") as attacker:
        answers = [
            (await attacker.post(LOGIN, json={"username": "ann", "password": f"guess{n}"}))
            for n in range(8)
        ]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 3
    assert gate.hashed == 5
    assert answers[-1].headers["Retry-After"] == "1"
    assert "Too many failed logins" in answers[-1].json()["detail"]
    # The right password is refused too while the name backs off, and costs no hash.
    async with from_address(app, "198.51.100.1") as owner:
        right = await owner.post(LOGIN, json={"username": "ann", "password": PASSWORD})
        assert right.status_code == 429 and gate.hashed == 5
        other = await owner.post(LOGIN, json={"username": "bob", "password": "whatever1"})
        assert other.status_code == 401


async def test_a_login_burst_never_answers_500_and_reads_go_on(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    await add_user(api)

    async def attempt(attacker: httpx.AsyncClient, n: int) -> int:
        body = {"username": f"user{n % 7}", "password": f"wrong{n}"}
        return (await attacker.post(LOGIN, json=body)).status_code

    async def read() -> int:
        return (await api.get("/api/v1/jobs", headers=ADMIN)).status_code

    async with from_address(app, "203.0.113.8") as one, from_address(app, "203.0.113.9") as two:
        attempts = [attempt(one if n % 2 else two, n) for n in range(180)]
        statuses = await asyncio.gather(*attempts, *(read() for _ in range(20)))
    logins, reads = Counter(statuses[:180]), Counter(statuses[180:])
    assert set(logins) <= {401, 429, 503} and logins[429] > 100, logins
    assert reads == Counter({200: 20})
    async with from_address(app, "198.51.100.2") as owner:
        right = await owner.post(LOGIN, json={"username": "ann", "password": PASSWORD})
    assert right.status_code == 200


async def test_a_busy_database_is_503_with_retry_after(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, server_log: Callable[[], str]
) -> None:
    async def locked(*_: object) -> None:
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(auth, "list_users", locked)
    answer = await api.get("/api/v1/auth/users", headers=ADMIN)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert "busy or unreachable" in answer.json()["detail"]
    assert "database is locked" in server_log()


async def test_an_unexpected_login_failure_logs_no_secret(
    app: FastAPI,
    api: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    server_log: Callable[[], str],
) -> None:
    await add_user(api)

    async def broken(*_: object) -> None:
        raise RuntimeError("the session table is gone")

    monkeypatch.setattr(auth, "start_session", broken)
    answer = await api.post(
        LOGIN,
        json={"username": "ann", "password": PASSWORD},
        headers={"X-API-Key": STATIC_KEY, "Cookie": "jobwerk_session=cookie-secret-value"},
    )
    assert answer.status_code == 500
    output = server_log()
    assert "RuntimeError: the session table is gone" in output
    for secret in (PASSWORD, STATIC_KEY, "cookie-secret-value", "$argon2"):
        assert secret not in output
    failures = [line for line in output.splitlines() if "session table" in line]
    assert len(failures) == 1


async def test_throttled_requests_are_collapsed_in_the_log(
    app: FastAPI, server_log: Callable[[], str]
) -> None:
    async with from_address(app, "203.0.113.10") as attacker:
        for n in range(40):
            await attacker.post(LOGIN, json={"username": "ann", "password": f"guess{n}"})
    lines = server_log().splitlines()
    assert len([line for line in lines if "request throttled" in line]) == 1
    assert len([line for line in lines if "status" in line and "401" in line]) == 5
