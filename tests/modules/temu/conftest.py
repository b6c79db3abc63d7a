"""Fixtures for the TEMU client and sandbox tests: a real sandbox served by uvicorn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobwerk.modules.temu.client import ExchangeRecord, TemuClient
from jobwerk.modules.temu.sandbox import SandboxServer, TemuSandbox

APP_KEY = "sandbox-app-key"
APP_SECRET = "sandbox-app-secret"
ACCESS_TOKEN = "sandbox-access-token"
DOC_EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "temu"


DocExample = Callable[[str], dict[str, Any]]
ClientFactory = Callable[..., TemuClient]


def _load_doc_example(api_type: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DOC_EXAMPLES / f"{api_type}.json").read_text("utf-8"))
    return data


@pytest.fixture
def doc_example() -> DocExample:
    """Loader of TEMU's documented request/response example for an API type."""
    return _load_doc_example


@pytest.fixture
def sandbox() -> TemuSandbox:
    """A small deterministic sandbox without a server-side rate limit."""
    return TemuSandbox(seed=11, orders=60, skus=250, rate_limit=None, start_time=1_767_225_600)


@pytest.fixture
def server(sandbox: TemuSandbox) -> Iterator[SandboxServer]:
    """The sandbox served over HTTP on a free localhost port."""
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def exchanges() -> list[ExchangeRecord]:
    """Audit records collected by the client fixture."""
    return []


def _make_client(server: SandboxServer, **kwargs: Any) -> TemuClient:
    options: dict[str, Any] = {
        "base_url": server.router_url(),
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "access_token": ACCESS_TOKEN,
        "rate_limit": None,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "max_retries": 3,
        "timeout": 5.0,
    }
    options.update(kwargs)
    return TemuClient(**options)


@pytest.fixture
async def client(
    server: SandboxServer, exchanges: list[ExchangeRecord]
) -> AsyncIterator[TemuClient]:
    """A client talking to the served sandbox, recording every exchange."""
    async with _make_client(server, on_exchange=exchanges.append) as temu:
        yield temu


@pytest.fixture
def client_factory(server: SandboxServer) -> ClientFactory:
    """Builds more sandbox clients (fast retries, no client-side limit unless given)."""
    return lambda **kwargs: _make_client(server, **kwargs)
