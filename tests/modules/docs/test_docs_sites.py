"""Crawling real Sphinx and MkDocs builds served on loopback, and the exports made from them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jobwerk.modules.docs.scraper import (
    CrawlCache,
    CrawlResult,
    ExportFormat,
    ScrapeSettings,
    crawl,
    normalize_url,
    scrape,
)
from tests.support.docs import make_request

FENCE = re.compile(r"^```(\w*)$", re.M)


def fences(markdown: str) -> list[str]:
    """Languages of the opening fences (closing fences are empty strings, skipped)."""
    langs = FENCE.findall(markdown)
    return langs[0::2]


def body(result: CrawlResult) -> str:
    return "\n".join(p.markdown for p in result.pages)


async def test_sphinx_site_pages_code_tables(site_url: str, loopback: ScrapeSettings) -> None:
    result = await crawl(make_request(f"{site_url}/sphinx/index.html"), loopback)
    titles = [p.title for p in result.pages]
    assert titles == [
        "Widget documentation",
        "Introduction",
        "Installation",
        "Configuration",
        "API reference",
    ]
    assert len({p.final_url for p in result.pages}) == len(result.pages)
    text = body(result)
    assert fences(text) == ["python", "bash", "json", "yaml", "javascript"]
    assert '    if size > 1:\n        return "big"' in text
    assert "```yaml\nsize: 3\ncolour: red\n```" in text, "line numbers must not leak into code"
    assert "| OS | Status | Notes |\n| --- | --- | --- |\n| Linux | supported |" in text
    assert "pipes a\\|b in text" in text
    assert "| make | Widget |" in text
    assert "> **Note:** Widgets are fragile." in text
    assert "> **Warning:** Windows is not supported." in text
    assert f"![Widget logo]({site_url}/sphinx/_images/logo.png)" in text
    for boilerplate in ("¶", "Quick search", "Navigation", "Powered by", "Page source"):
        assert boilerplate not in text
    assert not result.failed
    progress = result.progress
    assert progress.pages_ok + progress.pages_failed + progress.pages_skipped == progress.pages_done


async def test_mkdocs_site_pages_code_tables(site_url: str, loopback: ScrapeSettings) -> None:
    result = await crawl(make_request(f"{site_url}/mkdocs/"), loopback)
    assert [p.title for p in result.pages] == ["Gadget", "Install", "Usage", "Reference"]
    text = body(result)
    assert fences(text) == ["bash", "python", "rust", "go"]
    assert "gadget.run(  # indented call\n    fast=True,\n)" in text
    assert "| Option | Default |\n| --- | --- |\n| fast | `true` |" in text
    assert "> **Pro tip:** Use a virtualenv." in text
    for boilerplate in ("Built with", "MkDocs", "Search", "Previous", "Next", "Edit on"):
        assert boilerplate not in text, boilerplate


async def test_exports_combined_and_per_page(
    site_url: str, loopback: ScrapeSettings, tmp_path: Path
) -> None:
    request = make_request(f"{site_url}/mkdocs/")
    request.export_formats = [ExportFormat.MARKDOWN, ExportFormat.JSON, ExportFormat.HTML]
    result = await scrape(request, tmp_path, loopback, base_name="gadget")
    by_format = {f.format: f for f in result.files}
    assert set(by_format) == {"markdown", "json", "html", "page-markdown"}
    markdown = (tmp_path / "gadget.md").read_text()
    assert by_format["markdown"].size == len(markdown.encode())
    assert by_format["markdown"].content_type.startswith("text/markdown")
    toc = markdown.split("## Contents", 1)[1].split("---", 1)[0]
    assert toc.count("](#p") == 4
    assert "Read the [install guide](#p002-install)." in markdown
    assert "See the [reference](#p004-reference)." in markdown
    assert markdown.count('<a id="p00') == 4
    assert "\n### Functions\n" in markdown, "page headings are demoted below the page title"
    pages = json.loads((tmp_path / "gadget.json").read_text())["pages"]
    assert [p["title"] for p in pages] == ["Gadget", "Install", "Usage", "Reference"]
    assert all(p["hash"] and p["markdown"] for p in pages)
    html = (tmp_path / "gadget.html").read_text()
    assert '<code class="language-rust">' in html
    assert '<a href="#p004-reference">reference</a>' in html
    assert "<table>" in html
    per_page = sorted(f.name for f in result.files if f.format == "page-markdown")
    assert per_page[0] == "gadget-pages/001-gadget.md"
    first = (tmp_path / per_page[0]).read_text()
    assert first.startswith("# Gadget\n\nSource: <")
    assert "[install guide](002-install.md)" in first


def outputs(folder: Path) -> dict[str, str]:
    """Every export file's text; the generation time and the pages' run data masked."""
    run_data = "generated_at|crawled_at|change|bytes|duration_seconds"
    volatile = re.compile(rf'generated .* UTC|"({run_data})": ("[^"]*"|[\d.]+)')
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): volatile.sub("~", p.read_text()) for p in files}


@pytest.mark.parametrize("site", ["sphinx", "mkdocs"])  # MkDocs links folders: ``install/``
async def test_rerun_uses_conditional_requests(
    site_url: str, loopback: ScrapeSettings, tmp_path: Path, site: str
) -> None:
    cache = tmp_path / "cache.json"
    request = make_request(f"{site_url}/{site}/")
    request.export_formats = [ExportFormat.MARKDOWN, ExportFormat.JSON]
    first = await scrape(request, tmp_path / "one", loopback, cache_path=cache)
    assert {p.change for p in first.crawl.pages} == {"new"}
    second = await scrape(request, tmp_path / "two", loopback, cache_path=cache)
    assert {p.change for p in second.crawl.pages} == {"same"}
    assert second.crawl.progress.bytes_fetched < first.crawl.progress.bytes_fetched / 4
    assert len(outputs(tmp_path / "two")) == len(first.crawl.pages) + 2
    assert [p.url for p in second.crawl.pages] == [p.url for p in first.crawl.pages]
    assert outputs(tmp_path / "two") == outputs(tmp_path / "one")


async def test_cache_file_of_earlier_versions_is_migrated(
    site_url: str, loopback: ScrapeSettings, tmp_path: Path
) -> None:
    request = make_request(f"{site_url}/sphinx/")
    fresh = await crawl(request, loopback)
    entries = {
        normalize_url(p.url): {
            "url": p.url,
            "final_url": p.final_url,
            "title": p.title,
            "markdown": p.markdown,
            "links": p.links,
            "content_hash": p.content_hash,
            "depth": p.depth,
            "etag": p.etag,
            "last_modified": p.last_modified,
            "crawled_at": p.crawled_at.isoformat() if p.crawled_at else None,
        }
        for p in fresh.pages
    }
    cache = tmp_path / "cache.json"
    cache.write_text(json.dumps({"version": 1, "entries": entries}))
    # Its links are keys, so every page is fetched again; the hashes still tell what changed.
    rerun = await scrape(request, tmp_path / "two", loopback, cache_path=cache)
    assert {p.change for p in rerun.crawl.pages} == {"same"}
    assert rerun.crawl.progress.bytes_fetched == fresh.progress.bytes_fetched
    await scrape(request, tmp_path / "one", loopback)
    assert outputs(tmp_path / "two") == outputs(tmp_path / "one")
    with CrawlCache.load(cache) as migrated:
        assert migrated.entries.keys() == entries.keys()
        key = normalize_url(str(request.url))
        assert migrated.read(migrated.entries[key]).markdown == entries[key]["markdown"]
    with CrawlCache.load(cache) as migrated:
        third = await crawl(request, loopback, cache=migrated)
    assert third.progress.bytes_fetched < fresh.progress.bytes_fetched / 4
