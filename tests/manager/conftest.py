"""Fixtures for the module manager: the API app (from tests/api), a catalog folder and helpers
that wait for operations."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import (  # noqa: F401  (fixtures reused here)
    api_settings,
    app,
    client,
    keys,
    live_server,
    runtime,
)
from tests.manager._modules import Catalog


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog")
