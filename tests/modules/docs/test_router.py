"""The docs module's HTTP API (seed 003): scrape endpoints, exports of any run, credentials."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from jobwerk import cli
from jobwerk.config import Settings, load_settings
from jobwerk.core import job_service
from jobwerk.core.runtime import Runtime
from jobwerk.modules.docs import _convert
from jobwerk.modules.docs import module as docs_module
from jobwerk.modules.docs.credentials import CredentialCreate, create_credential
from jobwerk.modules.docs.models import DocsCredential
from tests.support.api import (
    ADMIN,
    STATIC_KEY,
    key_headers,
    make_settings,
    wait_for_run,
)
from tests.support.docs import serve

FAST = {"rate_limit": 20.0, "concurrency": 4}


@pytest.fixture
def api_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("JOBWERK_DOCS__ALLOW_HOSTS", "127.0.0.1")
    return make_settings(tmp_path).model_copy(update={"modules": ["demo", "docs"]})


async def finished_scrape(client: httpx.AsyncClient, url: str, **body: Any) -> dict[str, Any]:
    answer = await client.post(
        "/api/v1/scrape", json={"url": url, "options": FAST, **body}, headers=ADMIN
    )
    assert answer.status_code == 202, answer.text
    return await wait_for_run(client, answer.json()["job_id"])


async def test_viewer_cannot_start_a_scrape_operator_can(
    api: httpx.AsyncClient, keys: dict[str, str], site_url: str
) -> None:
    body = {"url": f"{site_url}/sphinx/", "options": FAST}
    assert (await api.post("/api/v1/scrape", json=body)).status_code == 401
    refused = await api.post("/api/v1/scrape", json=body, headers=key_headers(keys["viewer"]))
    assert refused.status_code == 403
    for path in ("/sync", "/validate", "/estimate"):
        viewer = await api.post(
            f"/api/v1/scrape{path}", json=body, headers=key_headers(keys["viewer"])
        )
        assert viewer.status_code == 403, path
    answer = await api.post("/api/v1/scrape", json=body, headers=key_headers(keys["operator"]))
    assert answer.status_code == 202, answer.text
    created = answer.json()
    assert created["status"] == "queued"
    assert created["status_url"] == f"/api/v1/jobs/{created['job_id']}"
    runs = (await api.get("/api/v1/jobs?workflow=docs.scrape", headers=ADMIN)).json()
    assert [run["id"] for run in runs["jobs"]] == [created["job_id"]]
    run = await wait_for_run(api, created["job_id"])
    assert run["status"] == "completed", run


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/docs/"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "https://user:pw@example.com/"}, "url"),
        ({"url": "https://example.com/", "export_formats": ["docx"]}, "export_formats"),
        ({"url": "https://example.com/", "export_formats": []}, "export_formats"),
        ({"url": "https://example.com/", "options": {"max_pages": 0}}, "options"),
        ({"url": "https://example.com/", "options": {"max_depth": 101}}, "options"),
        ({"url": "https://example.com/", "options": {"bogus": 1}}, "options"),
        ({"url": "https://example.com/", "options": {"user_agent": "Bot ä"}}, "user_agent"),
        ({"url": "https://example.com/", "options": {"user_agent": "a\r\nX: 1"}}, "user_agent"),
        ({"url": "https://example.com/", "unknown": True}, "unknown"),
    ],
)
async def test_scrape_requests_are_validated(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    for path in ("", "/sync", "/validate", "/estimate"):
        answer = await api.post(f"/api/v1/scrape{path}", json=body, headers=ADMIN)
        assert answer.status_code == 422, (path, answer.text)
        assert field in str(answer.json()["detail"])
    runs = (await api.get("/api/v1/jobs?workflow=docs.scrape", headers=ADMIN)).json()
    assert runs["jobs"] == []


async def test_unknown_credential_is_404(api: httpx.AsyncClient) -> None:
    body = {"url": "https://example.com/", "credential_id": "0" * 32}
    assert (await api.post("/api/v1/scrape", json=body, headers=ADMIN)).status_code == 404


async def test_sync_scrape_returns_markdown_and_pages(
    api: httpx.AsyncClient, site_url: str
) -> None:
    body = {"url": f"{site_url}/sphinx/", "options": {**FAST, "max_pages": 20}}
    answer = await api.post("/api/v1/scrape/sync", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["page_count"] == len(result["pages"]) >= 5
    assert not result["truncated"]
    titles = [page["title"] for page in result["pages"]]
    assert "Installation" in titles
    assert "pip install widget" in result["markdown"]
    assert "def make_widget(size: int) -> str:" in result["markdown"]


async def test_sync_scrape_past_the_cap_is_413(
    api: httpx.AsyncClient, site_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBWERK_DOCS__SYNC_MAX_PAGES", "2")
    body = {"url": f"{site_url}/sphinx/", "options": FAST}
    answer = await api.post("/api/v1/scrape/sync", json=body, headers=ADMIN)
    assert answer.status_code == 413, answer.text
    assert "POST /api/v1/scrape" in answer.json()["detail"]
    # Asking for fewer pages than the cap is a deliberate truncation, not an error.
    body["options"] = {**FAST, "max_pages": 2}
    truncated = (await api.post("/api/v1/scrape/sync", json=body, headers=ADMIN)).json()
    assert truncated["page_count"] == 2 and truncated["truncated"]


async def test_validate_and_estimate(api: httpx.AsyncClient, site_url: str) -> None:
    body = {"url": f"{site_url}/sphinx/", "options": FAST}
    report = (await api.post("/api/v1/scrape/validate", json=body, headers=ADMIN)).json()
    assert report["valid"] is True
    assert isinstance(report["warnings"], list) and isinstance(report["recommendations"], list)
    private = {"url": "http://10.1.2.3/docs/"}
    refused = (await api.post("/api/v1/scrape/validate", json=private, headers=ADMIN)).json()
    assert refused["valid"] is False
    assert any("refused" in warning for warning in refused["warnings"])
    estimate = (await api.post("/api/v1/scrape/estimate", json=body, headers=ADMIN)).json()
    assert 1 <= estimate["estimated_pages"] <= 500
    assert estimate["estimated_duration_seconds"] > 0


@pytest.fixture
def protected_url() -> Iterator[str]:
    """A docs page that answers only to basic auth ``reader:s3cret``."""
    expected = "Basic " + base64.b64encode(b"reader:s3cret").decode()

    async def page(request: Request) -> Response:
        if request.headers.get("authorization") != expected:
            return PlainTextResponse("who are you?", status_code=401)
        return HTMLResponse(
            "<html><head><title>Secret</title></head>"
            "<body><main><h1>Secret</h1><p>Internal widget notes.</p></main></body></html>"
        )

    with serve(Starlette(routes=[Route("/docs/", page)])) as url:
        yield f"{url}/docs/"


async def test_credentials_are_write_only_and_encrypted(
    api: httpx.AsyncClient,
    keys: dict[str, str],
    app_runtime: Runtime,
    protected_url: str,
) -> None:
    host = httpx.URL(protected_url).netloc.decode()
    body = {
        "name": "intranet",
        "host": host,
        "auth_type": "basic",
        "username": "reader",
        "password": "s3cret",
    }
    url = "/api/v1/auth/credentials"
    assert (
        await api.post(url, json=body, headers=key_headers(keys["operator"]))
    ).status_code == 403
    created = await api.post(url, json=body, headers=key_headers(keys["admin"]))
    assert created.status_code == 201, created.text
    assert "s3cret" not in created.text and "reader" not in created.text
    credential = created.json()
    assert credential["header_names"] == ["Authorization"]
    assert (await api.post(url, json=body, headers=ADMIN)).status_code == 409
    assert (await api.get(url, headers=key_headers(keys["viewer"]))).status_code == 403
    listed = await api.get(url, headers=key_headers(keys["operator"]))
    assert [item["id"] for item in listed.json()] == [credential["id"]]
    assert "s3cret" not in listed.text
    async with app_runtime.db.session() as session:
        stored = await session.scalar(select(DocsCredential.secrets))
    assert stored and "s3cret" not in stored and "cmVhZGVyOnMzY3JldA" not in stored
    assert app_runtime.box.open(stored)["headers"]["Authorization"].startswith("Basic ")

    scrape = {"url": protected_url, "options": FAST}
    without = (await api.post("/api/v1/scrape/sync", json=scrape, headers=ADMIN)).json()
    assert without["page_count"] == 0 and without["failed"][0]["status_code"] == 401
    scrape["credential_id"] = credential["id"]
    answer = await api.post("/api/v1/scrape/sync", json=scrape, headers=ADMIN)
    assert answer.json()["page_count"] == 1, answer.text
    assert "Internal widget notes." in answer.json()["markdown"]
    other = {"url": "http://localhost:1/docs/", "credential_id": credential["id"]}
    mismatch = await api.post("/api/v1/scrape", json=other, headers=ADMIN)
    assert mismatch.status_code == 422 and "host" in mismatch.text

    removed = await api.delete(f"{url}/{credential['id']}", headers=key_headers(keys["admin"]))
    assert removed.status_code == 204
    assert (await api.get(url, headers=ADMIN)).json() == []
    assert (await api.delete(f"{url}/{credential['id']}", headers=ADMIN)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"auth_type": "bearer"},
        {"auth_type": "basic", "username": "only"},
        {"auth_type": "headers"},
        {"auth_type": "headers", "headers": {"X-Token": "a\r\nInjected: 1"}},
        {"auth_type": "headers", "headers": {"X-Token": "a\n"}},
        {"auth_type": "headers", "cookies": {"sid": "grüße"}},
        {"auth_type": "bearer", "token": "tök"},
        {"auth_type": "headers", "headers": {"bad name": "x"}},
        {"auth_type": "bearer", "token": "t", "host": "https://docs.example.com/path"},
        {"auth_type": "oauth", "token": "t"},
        {"auth_type": "bearer", "password": "s3cret-pw", "headers": {"X": "s3cret-h"}},
        {"auth_type": "basic", "username": "u", "password": "s3cret" * 200},
    ],
)
async def test_credential_input_is_validated(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    full = {"name": "x", "host": "docs.example.com", **body}
    answer = await api.post("/api/v1/auth/credentials", json=full, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert "Injected" not in answer.text and "s3cret" not in answer.text


async def demo_run_with_xml(client: httpx.AsyncClient, runtime: Runtime) -> str:
    """A finished run of another module's workflow with a file in its export folder."""
    answer = await client.post(
        "/api/jobs/demo_example/run-now", json={"items": 1, "delay": 0}, headers=ADMIN
    )
    run_id: str = answer.json()["run_id"]
    await wait_for_run(client, run_id)
    folder = runtime.settings.data_dir / "exports" / run_id
    folder.mkdir(parents=True)
    (folder / "orders-0001.xml").write_text("<tBestellungen/>", encoding="utf-8")
    return run_id


async def test_exports_of_any_run(
    api: httpx.AsyncClient, keys: dict[str, str], app_runtime: Runtime
) -> None:
    run_id = await demo_run_with_xml(api, app_runtime)
    meta = await api.get(f"/api/v1/exports/{run_id}/metadata", headers=key_headers(keys["viewer"]))
    assert meta.status_code == 200, meta.text
    assert meta.json()["workflow"] == "demo.example"
    assert [(f["name"], f["content_type"]) for f in meta.json()["files"]] == [
        ("orders-0001.xml", "application/xml")
    ]
    file_url = meta.json()["files"][0]["download_url"]
    download = await api.get(file_url, headers=key_headers(keys["viewer"]))
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/xml"
    assert download.headers["content-disposition"] == 'attachment; filename="orders-0001.xml"'
    assert download.text == "<tBestellungen/>"

    assert (
        await api.delete(f"/api/v1/exports/{run_id}", headers=key_headers(keys["viewer"]))
    ).status_code == 403
    deleted = await api.delete(f"/api/v1/exports/{run_id}", headers=key_headers(keys["operator"]))
    assert deleted.json() == {"job_id": run_id, "deleted_files": 1, "freed_bytes": 16}
    assert (await api.get(file_url, headers=ADMIN)).status_code == 404
    assert (await api.get(f"/api/v1/exports/{run_id}/metadata", headers=ADMIN)).json()[
        "files"
    ] == []
    run = (await api.get(f"/api/v1/jobs/{run_id}", headers=ADMIN)).json()
    assert run["status"] == "completed" and run["result"]["exports"] == []


async def test_export_paths_cannot_escape(api: httpx.AsyncClient, app_runtime: Runtime) -> None:
    run_id = await demo_run_with_xml(api, app_runtime)
    other = await demo_run_with_xml(api, app_runtime)
    base = f"/api/v1/exports/{run_id}"
    for name in (
        "..%2F..%2Fsecret.key",
        "..%2F..%2Fjobwerk.db",
        f"..%2F{other}%2Forders-0001.xml",
        "%2Fetc%2Fpasswd",
        "sub%2F..%2F..%2F..%2Fsecret.key",
    ):
        answer = await api.get(f"{base}/{name}", headers=ADMIN)
        assert answer.status_code == 403, (name, answer.status_code)
    for path in (f"{base}/missing.xml", "/api/v1/exports/..%2F..%2Fetc/passwd"):
        assert (await api.get(path, headers=ADMIN)).status_code == 404, path
    assert (await api.get(f"/api/v1/exports/{'f' * 32}/metadata", headers=ADMIN)).status_code == 404
    unknown = await api.delete(f"/api/v1/exports/{'f' * 32}", headers=ADMIN)
    assert unknown.status_code == 404
    escaping = await api.delete("/api/v1/exports/..%2F..", headers=ADMIN)
    assert escaping.status_code in (404, 405)
    assert (app_runtime.settings.data_dir / "secret.key").exists()


async def test_convert_an_export(
    api: httpx.AsyncClient, site_url: str, app_runtime: Runtime
) -> None:
    run = await finished_scrape(api, f"{site_url}/sphinx/")
    answer = await api.post(
        f"/api/v1/exports/{run['id']}/convert", json={"target_format": "html"}, headers=ADMIN
    )
    assert answer.status_code == 202, answer.text
    conversion = answer.json()
    assert conversion["source"].endswith(".md") and conversion["source_job_id"] == run["id"]
    await wait_for_run(api, conversion["conversion_id"])
    status = await api.get(conversion["status_url"], headers=ADMIN)
    done = status.json()
    assert done["status"] == "completed", done
    [file] = done["files"]
    html = await api.get(file["download_url"], headers=ADMIN)
    assert html.headers["content-type"].startswith("text/html")
    assert "<code" in html.text and "make_widget" in html.text

    xml_run = await demo_run_with_xml(api, app_runtime)
    for body, code in (
        ({"target_format": "html", "source": "orders-0001.xml"}, 422),
        ({"target_format": "html"}, 422),
        ({"target_format": "docx"}, 422),
        ({"target_format": "pdf", "source": "../../secret.key"}, 403),
        ({"target_format": "pdf", "source": "gone.md"}, 404),
    ):
        answer = await api.post(f"/api/v1/exports/{xml_run}/convert", json=body, headers=ADMIN)
        assert answer.status_code == code, (body, answer.text)
    not_a_conversion = await api.get(f"/api/v1/exports/conversions/{xml_run}", headers=ADMIN)
    assert not_a_conversion.status_code == 404


async def test_module_health_and_openapi(api: httpx.AsyncClient) -> None:
    health = (await api.get("/api/v1/system/health", headers=ADMIN)).json()
    docs = health["dependencies"]["docs"]
    assert docs["status"] == "ok" and docs["allow_hosts"] == 1
    assert isinstance(docs["chromium"], bool)
    paths = (await api.get("/api/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/scrape",
        "/api/v1/scrape/sync",
        "/api/v1/scrape/validate",
        "/api/v1/scrape/estimate",
        "/api/v1/exports/{job_id}/{filename}",
        "/api/v1/exports/{job_id}/metadata",
        "/api/v1/exports/{job_id}/convert",
        "/api/v1/exports/conversions/{conversion_id}",
        "/api/v1/exports/{job_id}",
        "/api/v1/auth/credentials",
        "/api/v1/auth/credentials/{credential_id}",
    ):
        assert path in paths, path
    body = paths["/api/v1/auth/credentials"]["post"]["requestBody"]["content"]
    assert "auth_type" in body["application/json"]["schema"]["properties"]


async def test_a_failing_scrape_with_credentials_logs_no_secret(
    api: httpx.AsyncClient,
    protected_url: str,
    monkeypatch: pytest.MonkeyPatch,
    server_log: Callable[[], str],
) -> None:
    body = {
        "name": "intranet",
        "host": httpx.URL(protected_url).netloc.decode(),
        "auth_type": "basic",
        "username": "reader",
        "password": "s3cret",
    }
    created = await api.post("/api/v1/auth/credentials", json=body, headers=ADMIN)

    def broken(element: object) -> str:
        raise RuntimeError("converter crashed")

    monkeypatch.setenv("JOBWERK_DOCS__WORKERS", "0")  # converted here, where the patch applies
    monkeypatch.setattr(_convert, "html_to_markdown", broken)
    scrape = {"url": protected_url, "options": FAST, "credential_id": created.json()["id"]}
    answer = await api.post("/api/v1/scrape", json=scrape, headers=ADMIN)
    run = await wait_for_run(api, answer.json()["job_id"])
    logs = await api.get(f"/api/v1/jobs/{run['id']}/logs", headers=ADMIN)

    written = server_log() + str(run) + logs.text
    assert run["result"]["pages_failed"] == 1
    assert "internal error: RuntimeError: converter crashed" in written
    for secret in ("s3cret", base64.b64encode(b"reader:s3cret").decode(), STATIC_KEY):
        assert secret not in written


def test_a_stored_credential_works_outside_the_server(
    protected_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`jobs run --wait` executes the run in the CLI's own process, without the module's start-up
    hooks: the step gets the database and the key from its context, as in `serve` and `worker`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOBWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JOBWERK_MODULES", '["docs"]')
    monkeypatch.setenv("JOBWERK_DOCS__ALLOW_HOSTS", "127.0.0.1")
    host = httpx.URL(protected_url).netloc.decode()
    login = {"auth_type": "basic", "username": "reader", "password": "s3cret"}

    async def prepare() -> None:
        runtime = Runtime(load_settings())
        for workflow in docs_module.workflows():
            runtime.workflows.register(workflow)
        await runtime.start(executor=False, scheduler=False)
        try:
            async with runtime.transaction() as session:
                data = CredentialCreate.model_validate({"name": "intranet", "host": host, **login})
                stored = await create_credential(session, runtime.box, data)
                await session.flush()
                params = {"url": protected_url, "credential_id": stored.id, "options": FAST}
                await job_service.save_job(
                    session, runtime.workflows, "intranet_docs", "docs.scrape", params=params
                )
        finally:
            await runtime.stop()

    asyncio.run(prepare())
    result = CliRunner().invoke(cli.app, ["jobs", "run", "intranet_docs", "--wait", "--json"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "completed", outcome
    assert outcome["result"]["page_files"] == 1
