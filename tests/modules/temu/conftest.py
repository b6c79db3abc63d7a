"""Fixtures for the TEMU tests: a real sandbox served by uvicorn with clients for it, and a served
shop with its JTL replica next to an app running the TEMU module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from jobwerk.config import Settings
from jobwerk.modules.temu.client import ExchangeRecord, TemuClient
from jobwerk.modules.temu.sandbox import SandboxServer, TemuSandbox
from tests.support.api import make_settings
from tests.support.temu import (
    ClientFactory,
    DocExample,
    Shop,
    add_instance,
    load_doc_example,
    open_shop,
    sandbox_client,
)


@pytest.fixture
def doc_example() -> DocExample:
    """Loader of TEMU's documented request/response example for an API type."""
    return load_doc_example


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
    """Audit records collected by the ``temu_client`` fixture."""
    return []


@pytest.fixture
async def temu_client(
    server: SandboxServer, exchanges: list[ExchangeRecord]
) -> AsyncIterator[TemuClient]:
    """A client talking to the served sandbox, recording every exchange."""
    async with sandbox_client(server, on_exchange=exchanges.append) as temu:
        yield temu


@pytest.fixture
def client_factory(server: SandboxServer) -> ClientFactory:
    """Builds more sandbox clients (fast retries, no client-side limit unless given)."""
    return lambda **kwargs: sandbox_client(server, **kwargs)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    """A sandbox shop with orders to ship, and its JTL replica with some stock changed."""
    opened = open_shop(tmp_path / "shop-a", seed=5, changed=0.1)
    yield opened
    opened.server.stop()


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    """``app`` runs the TEMU module."""
    return make_settings(tmp_path / "jobwerk").model_copy(update={"modules": ["temu"]})


@pytest.fixture
async def instance(app: FastAPI, shop: Shop) -> str:
    """The id of ``shop``'s TEMU instance in ``app``."""
    return await add_instance(app, "Shop A", shop.settings())
