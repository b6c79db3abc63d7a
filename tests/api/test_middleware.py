"""Middleware: request ids, timing, gzip, CORS, rate limiting, body size limit, error bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI

from jobwerk.app import create_app
from tests.support.api import ADMIN, http_client, make_settings


async def started(tmp_path: Path, **api: object) -> tuple[FastAPI, object]:
    app = create_app(make_settings(tmp_path, **api))
    context = app.router.lifespan_context(app)
    await context.__aenter__()
    return app, context


async def test_request_id_generated_honoured_or_replaced(api: httpx.AsyncClient) -> None:
    fresh = await api.get("/health")
    assert len(fresh.headers["X-Request-ID"]) == 32
    assert float(fresh.headers["X-Process-Time"]) >= 0
    kept = await api.get("/health", headers={"X-Request-ID": "trace-1234-abcd"})
    assert kept.headers["X-Request-ID"] == "trace-1234-abcd"
    insane = await api.get("/health", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert insane.headers["X-Request-ID"] != "<script>alert(1)</script>"


async def test_run_remembers_the_request_id(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/api/jobs/demo_example/run-now",
        json={"items": 1, "delay": 0},
        headers={**ADMIN, "X-Request-ID": "req-trigger-0001"},
    )
    run = (await api.get(f"/api/v1/jobs/{answer.json()['run_id']}", headers=ADMIN)).json()
    assert run["request_id"] == "req-trigger-0001"


async def test_gzip_for_large_answers(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.json()["openapi"]


async def test_no_cors_by_default(api: httpx.AsyncClient) -> None:
    answer = await api.get("/health", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in answer.headers


async def test_cors_allow_list_and_wildcard(tmp_path: Path) -> None:
    app, context = await started(tmp_path, cors_origins=["https://shop.example"])
    async with http_client(app) as client:
        allowed = await client.options(
            "/api/jobs",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        other = await client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    await context.__aexit__(None, None, None)  # type: ignore[attr-defined]
    app, context = await started(tmp_path / "wild", cors_origins=["*"])
    async with http_client(app) as client:
        wild = await client.get("/health", headers={"Origin": "https://any.example"})
        assert wild.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in wild.headers
    await context.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_rate_limit_on_mutations(tmp_path: Path) -> None:
    app, context = await started(tmp_path, rate_limit_per_minute=3)
    async with http_client(app) as client:
        codes = [
            (await client.post("/api/jobs/nope/toggle", headers=ADMIN)).status_code
            for _ in range(4)
        ]
        assert codes == [404, 404, 404, 429]
        limited = await client.post("/api/jobs/nope/toggle", headers=ADMIN)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["X-Request-ID"]
        assert (await client.get("/api/jobs", headers=ADMIN)).status_code == 200  # reads pass
    await context.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_body_size_limit(tmp_path: Path) -> None:
    app, context = await started(tmp_path, max_body_bytes=2048)
    async with http_client(app) as client:
        url = "/api/jobs/demo_example/run-now"
        big = {"items": 1, "padding": "x" * 5000}
        assert (await client.post(url, json=big, headers=ADMIN)).status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"items": 1, "padding": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}'

        streamed = await client.post(
            url, content=chunks(), headers={**ADMIN, "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
    await context.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_unhandled_error_is_json_500_without_internals(app: FastAPI) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with http_client(app) as client:
        answer = await client.get("/boom", headers={"X-Request-ID": "req-boom-0001"})
    assert answer.status_code == 500
    body = answer.json()
    assert body["detail"] == "Internal Server Error"
    assert body["path"] == "/boom" and body["request_id"] == "req-boom-0001" and body["timestamp"]
    assert answer.headers["X-Request-ID"] == "req-boom-0001"
    assert "secret" not in answer.text


async def test_an_allowed_origin_can_read_a_500(tmp_path: Path) -> None:
    app, context = await started(tmp_path, cors_origins=["https://shop.example"])

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    try:
        async with http_client(app) as client:
            answer = await client.get("/boom", headers={"Origin": "https://shop.example"})
        assert answer.status_code == 500 and answer.json()["request_id"]
        assert answer.headers["access-control-allow-origin"] == "https://shop.example"
    finally:
        await context.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_values_postgresql_refuses_are_a_422_not_a_500(tmp_path: Path, pg_url: str) -> None:
    settings = make_settings(tmp_path)
    database = settings.database.model_copy(update={"url": pg_url})
    app = create_app(settings.model_copy(update={"database": database}))
    context = app.router.lifespan_context(app)
    await context.__aenter__()
    try:
        async with http_client(app) as client:
            answers = [
                await client.get("/api/jobs/a%00b", headers=ADMIN),
                await client.get("/api/v1/jobs?workflow=demo%00", headers=ADMIN),
                await client.post("/api/v1/auth/keys", json={"name": "k\u0000", "role": "viewer"}),
                await client.post(
                    "/api/v1/auth/keys", json={"name": "k\u0000", "role": "viewer"}, headers=ADMIN
                ),
            ]
            assert [answer.status_code for answer in answers] == [422, 422, 401, 422]
            assert "NUL" in answers[0].json()["message"]
            # nothing was half-written: the same request without the NUL works
            fine = await client.post(
                "/api/v1/auth/keys", json={"name": "k", "role": "viewer"}, headers=ADMIN
            )
            assert fine.status_code == 201
    finally:
        await context.__aexit__(None, None, None)
