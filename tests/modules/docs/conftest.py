"""Fixtures of the docs-module tests: built Sphinx/MkDocs sites served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobwerk.modules.docs.scraper import ScrapeSettings
from tests.support.docs import ServerState, build_mkdocs, build_sphinx, make_app, serve


@pytest.fixture(scope="session")
def built_sites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The Sphinx and MkDocs HTML output folders."""
    workdir = tmp_path_factory.mktemp("docs-sites")
    return build_sphinx(workdir), build_mkdocs(workdir)


@pytest.fixture(scope="session")
def server_state() -> ServerState:
    """Knobs of the edge-case routes."""
    return ServerState()


@pytest.fixture(scope="session")
def site_url(built_sites: tuple[Path, Path], server_state: ServerState) -> Iterator[str]:
    """Base URL of the loopback server."""
    with serve(make_app(*built_sites, server_state)) as url:
        yield url


@pytest.fixture
def loopback() -> ScrapeSettings:
    """Settings whose SSRF allow-list admits 127.0.0.1 (and nothing else), fast retries."""
    return ScrapeSettings.allowing(
        "127.0.0.1", backoff_base=0.05, unthrottled_hosts=frozenset({"127.0.0.1"})
    )
