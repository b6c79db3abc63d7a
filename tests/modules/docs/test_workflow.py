"""The ``docs.scrape`` workflow run through the API, and ``jobwerk scrape`` without a server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from jobwerk import cli
from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.modules.docs import module
from tests.support.api import ADMIN, make_settings, wait_for_run

FAST = {"rate_limit": 20.0, "concurrency": 4}


@pytest.fixture
def api_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("JOBWERK_DOCS__ALLOW_HOSTS", "127.0.0.1")
    return make_settings(tmp_path).model_copy(update={"modules": ["docs"]})


async def start(client: httpx.AsyncClient, url: str, **body: Any) -> str:
    answer = await client.post("/api/v1/scrape", json={"url": url, **body}, headers=ADMIN)
    assert answer.status_code == 202, answer.text
    run_id: str = answer.json()["job_id"]
    return run_id


async def download(client: httpx.AsyncClient, run_id: str, name: str) -> httpx.Response:
    return await client.get(f"/api/v1/exports/{run_id}/{name}", headers=ADMIN)


async def test_scrape_run_exports_every_format_and_reuses_its_cache(
    api: httpx.AsyncClient, site_url: str, api_settings: Settings
) -> None:
    url = f"{site_url}/sphinx/"
    formats = ["markdown", "json", "html"]
    run = await wait_for_run(api, await start(api, url, export_formats=formats, options=FAST))
    assert run["status"] == "completed", run
    assert [step["name"] for step in run["steps"]] == ["crawl", "export"]
    result = run["result"]
    assert result["pages"] >= 5
    assert not result["partial"] and result["failed_pages"] == []
    exports = {entry["name"]: entry["content_type"] for entry in result["exports"]}
    assert sorted(Path(name).suffix for name in exports) == [".html", ".json", ".md"]

    meta = (await api.get(f"/api/v1/exports/{run['id']}/metadata", headers=ADMIN)).json()
    page_files = [f for f in meta["files"] if not f["recorded"]]
    assert len(page_files) == result["pages"] == result["page_files"]
    markdown_name = next(name for name in exports if name.endswith(".md"))
    markdown = await download(api, run["id"], markdown_name)
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert "```python\ndef make_widget(size: int) -> str:" in markdown.text
    json_name = next(name for name in exports if name.endswith(".json"))
    document = json.loads((await download(api, run["id"], json_name)).text)
    assert len(document["pages"]) == result["pages"]
    page = await download(api, run["id"], page_files[0]["name"])
    assert page.status_code == 200 and page.text.startswith("#")

    cache = list((api_settings.data_dir / "docs" / "cache").glob("*.json"))
    assert len(cache) == 1
    again = await wait_for_run(api, await start(api, url, options=FAST))
    assert again["status"] == "completed"
    assert again["result"]["pages"] == result["pages"]
    assert again["result"]["pages_changed"] == 0, "unchanged pages come from the cache"
    assert list((api_settings.data_dir / "docs" / "crawls").iterdir()) == []


async def test_progress_events_carry_page_counters(
    app_runtime: Runtime, api: httpx.AsyncClient, site_url: str
) -> None:
    events = app_runtime.bus.subscribe(accept=lambda event: event.kind == "step.progress")
    run = await wait_for_run(api, await start(api, f"{site_url}/sphinx/", options=FAST))
    events.close()
    crawl = [event.data async for event in events if event.data["step"] == "crawl"]
    assert crawl, "the crawl step reports progress"
    last = crawl[-1]
    assert last["done"] == last["total"] == run["result"]["pages"]
    assert last["counters"]["pages_ok"] == run["result"]["pages"]
    assert {"pages_queued", "pages_failed", "current_url", "last_error"} <= set(last["counters"])
    assert str(last["message"]).startswith(site_url)


async def test_startup_removes_stale_crawl_results(
    app_runtime: Runtime, api_settings: Settings
) -> None:
    folder = api_settings.data_dir / "docs" / "crawls"
    folder.mkdir(parents=True)
    stale, fresh = folder / f"{'a' * 32}.json", folder / f"{'b' * 32}.json"
    for path in (stale, fresh):
        path.write_text("{}")
    pages = folder / ("a" * 32)  # the stale crawl's pages
    pages.mkdir()
    (pages / "pages.md").write_text("# page")
    for path in (stale, pages):
        os.utime(path, (time.time() - 2 * 86_400,) * 2)
    await module.startup(app_runtime)
    assert not stale.exists() and not pages.exists() and fresh.exists()


async def test_failed_pages_are_listed_not_fatal(
    app_runtime: Runtime, api: httpx.AsyncClient, site_url: str
) -> None:
    logs = app_runtime.bus.subscribe(accept=lambda event: event.kind == "log")
    options = {**FAST, "exclude": ["*/huge.html", "*/throttled.html", "*/slow.html"]}
    run = await wait_for_run(api, await start(api, f"{site_url}/edge/", options=options))
    logs.close()
    assert run["status"] == "completed", run
    failed = {page["url"]: page for page in run["result"]["failed_pages"]}
    assert failed[f"{site_url}/edge/missing.html"]["status_code"] == 404
    assert run["result"]["pages_failed"] == len(failed)
    messages = [event.data["message"] async for event in logs]
    assert any(message.startswith("page failed") for message in messages), messages


async def test_cancel_mid_crawl_keeps_a_partial_export(
    api: httpx.AsyncClient, site_url: str
) -> None:
    options = {"rate_limit": 2.0, "concurrency": 1, "use_sitemaps": False}
    run_id = await start(api, f"{site_url}/edge/", options=options)
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        run = (await api.get(f"/api/v1/jobs/{run_id}", headers=ADMIN)).json()
        if run["steps"] and run["steps"][0]["counters"].get("pages_ok", 0) >= 2:
            break
        assert run["status"] in ("queued", "running"), run
        assert asyncio.get_running_loop().time() < deadline, "the crawl made no progress"
        await asyncio.sleep(0.05)
    cancelled_at = asyncio.get_running_loop().time()
    answer = await api.delete(f"/api/v1/jobs/{run_id}", headers=ADMIN)
    assert answer.json()["action"] == "cancelled"
    run = await wait_for_run(api, run_id)
    assert run["status"] == "cancelled"
    assert asyncio.get_running_loop().time() - cancelled_at < 3, "the crawl stops promptly"
    result = run["result"]
    assert result["partial"] and result["stop_reason"] == "cancelled"
    assert 2 <= result["pages"] < 10
    [export] = result["exports"]
    markdown = await download(api, run_id, export["name"])
    assert markdown.status_code == 200 and "Edge index" in markdown.text
    assert run["steps"][1]["status"] == "cancelled", "the export step never started"


async def test_unsafe_target_fails_the_run_with_a_reason(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOBWERK_DOCS__ALLOW_HOSTS")
    run = await wait_for_run(api, await start(api, "http://169.254.169.254/latest/"))
    assert run["status"] == "failed"
    assert "crawl:" in run["error"] and run["result"].get("exports") is None


def jobwerk_app() -> typer.Typer:
    """The ``jobwerk`` CLI with module commands mounted as ``main()`` does."""
    if not any(command.callback is module.cli() for command in cli.app.registered_commands):
        cli._add_module_commands()
    return cli.app


def test_cli_scrape_command(site_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBWERK_DOCS__ALLOW_HOSTS", raising=False)
    runner = CliRunner()
    app = jobwerk_app()
    assert "scrape" in runner.invoke(app, ["--help"]).output
    output = tmp_path / "out" / "widget.md"
    args = ["scrape", f"{site_url}/sphinx/", "-o", str(output), "--max-pages", "3"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and "--allow-host" in refused.output
    done = runner.invoke(app, [*args, "--allow-host", "127.0.0.1", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert "3 pages" in done.output
    assert output.read_text(encoding="utf-8").startswith("# Documentation:")
    assert len(json.loads(output.with_suffix(".json").read_text())["pages"]) == 3
    bad = runner.invoke(app, ["scrape", "ftp://example.com/", "-o", str(output)])
    assert bad.exit_code == 2


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
async def test_pdf_export_and_conversion(api: httpx.AsyncClient, site_url: str) -> None:
    options = {**FAST, "max_pages": 3}
    run_id = await start(api, f"{site_url}/sphinx/", export_formats=["pdf"], options=options)
    run = await wait_for_run(api, run_id, seconds=60)
    assert run["status"] == "completed", run
    [export] = run["result"]["exports"]
    pdf = await download(api, run_id, export["name"])
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert export["size"] == len(pdf.content)
    meta = (await api.get(f"/api/v1/exports/{run_id}/metadata", headers=ADMIN)).json()
    markdown_page = next(f["name"] for f in meta["files"] if f["name"].endswith(".md"))
    answer = await api.post(
        f"/api/v1/exports/{run_id}/convert",
        json={"target_format": "pdf", "source": markdown_page},
        headers=ADMIN,
    )
    assert answer.status_code == 202, answer.text
    conversion = answer.json()
    await wait_for_run(api, conversion["conversion_id"], seconds=60)
    [file] = (await api.get(conversion["status_url"], headers=ADMIN)).json()["files"]
    converted = await api.get(file["download_url"], headers=ADMIN)
    assert converted.content.startswith(b"%PDF")
