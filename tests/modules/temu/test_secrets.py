"""No TEMU or JTL secret reaches the server log or a run's record, however a sync fails."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from jobwerk.modules.temu.client import _base
from tests.support.api import ADMIN
from tests.support.temu import (
    Shop,
    add_instance,
    sync,
)

JTL_PASSWORD = "jtl-pass-77"


async def run_record(api: httpx.AsyncClient, run: dict[str, object]) -> str:
    logs = await api.get(f"/api/v1/jobs/{run['id']}/logs", headers=ADMIN)
    return str(run) + logs.text


async def test_an_unexpected_step_error_leaves_no_secret(
    app: FastAPI,
    api: httpx.AsyncClient,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
    server_log: Callable[[], str],
) -> None:
    settings = shop.settings()
    instance = await add_instance(app, "Shop A", settings)

    def broken(app_secret: str, params: dict[str, object]) -> str:
        raise RuntimeError(f"cannot sign {len(params)} parameters")

    monkeypatch.setattr(_base, "sign_request", broken)
    run = await sync(api, "orders", instance, days_back=30)

    assert run["status"] == "failed" and "cannot sign" in str(run["error"])
    written = server_log() + await run_record(api, run)
    assert "RuntimeError: cannot sign" in written
    for secret in (settings["app_secret"], settings["access_token"], "static-admin-key"):
        assert secret not in written


async def test_a_jtl_url_password_stays_out_of_errors(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, server_log: Callable[[], str]
) -> None:
    url = f"postgresql://jobwerk:{JTL_PASSWORD}@127.0.0.1:1/eazybusiness"
    instance = await add_instance(app, "Shop B", shop.settings(jtl_url=url))
    run = await sync(api, "orders", instance, days_back=30)

    assert run["status"] == "failed"
    written = server_log() + await run_record(api, run)
    assert "JTL database unavailable" in str(run["error"])
    assert JTL_PASSWORD not in written
