"""Helpers for module manager tests: repositories and operations over the API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.api.conftest import ADMIN

NAME = "acme"


async def add_repository(
    http: httpx.AsyncClient, url: str, repository_id: str = "local", **extra: Any
) -> dict[str, Any]:
    answer = await http.post(
        "/repository", json={"id": repository_id, "url": url, **extra}, headers=ADMIN
    )
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()
    return data


async def wait_operation(
    http: httpx.AsyncClient, operation_id: str, seconds: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        answer = await http.get(f"/modules/status/{operation_id}", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        if data["status"] in ("completed", "failed", "cancelled"):
            return data
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"operation stayed {data['status']}: {data}")
        await asyncio.sleep(0.05)


async def operate(http: httpx.AsyncClient, method: str, url: str, **request: Any) -> dict[str, Any]:
    """Start an operation (202) and wait for it to finish."""
    answer = await http.request(method, url, headers=ADMIN, **request)
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert answer.headers["location"] == started["status_url"]
    assert started["status_url"] == f"/modules/status/{started['operation_id']}"
    return await wait_operation(http, started["operation_id"])
