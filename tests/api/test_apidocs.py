"""Swagger UI and ReDoc load everything from the app itself: they work without internet."""

from __future__ import annotations

import re

import httpx
import pytest

CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/api/docs", "/docs", "/api/redoc"])
async def test_docs_pages_use_only_local_assets_that_answer(
    api: httpx.AsyncClient, page: str
) -> None:
    answer = await api.get(page)
    assert answer.status_code == 200
    urls = re.findall(r'(?:src|href|spec-url)="([^"]*)"', answer.text)
    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url  # no CDN, no web fonts
        if url != "/api/openapi.json":
            loaded = await api.get(url)
            assert loaded.status_code == 200, url
            assert CONTENT_TYPES[url[url.rindex(".") :]] in loaded.headers["content-type"]
            assert len(loaded.content) > 1000, url
