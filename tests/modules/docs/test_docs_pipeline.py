"""The scrape pipeline: conversion processes, the page spool, exports from disk, host limits."""

from __future__ import annotations

import dataclasses
import gc
import ipaddress
import json
import multiprocessing
import operator
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from jobwerk.modules.docs._combine import markdown_section, page_markdown
from jobwerk.modules.docs._convert import PageJob, convert_page
from jobwerk.modules.docs._export import document_title, write_exports
from jobwerk.modules.docs._fetch import Fetcher, parallel_requests, request_interval
from jobwerk.modules.docs._pool import Converter
from jobwerk.modules.docs._urls import _PLAIN_PATH, join_path
from jobwerk.modules.docs.scraper import (
    ExportFormat,
    ScrapeOptions,
    ScrapeProgress,
    ScrapeSettings,
    crawl,
    markdown_to_html,
    scrape,
)
from tests.support.docs import make_request

FORMATS = [ExportFormat.MARKDOWN, ExportFormat.JSON, ExportFormat.HTML]
_GENERATED = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def exports(folder: Path) -> dict[str, str]:
    """Every file below ``folder``, with the values that differ from run to run taken out."""
    files = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text()
        if path.suffix == ".json":
            document = json.loads(text)
            del document["generated_at"], document["stats"]["duration_seconds"]
            for page in document["pages"]:
                del page["crawled_at"]
            for key in ("failed", "skipped"):  # listed as they happen
                document[key].sort(key=lambda entry: json.dumps(entry, sort_keys=True))
            text = json.dumps(document, indent=2)
        files[str(path.relative_to(folder))] = _GENERATED.sub("~", text)
    return files


async def test_worker_processes_and_inline_conversion_write_the_same_files(
    site_url: str, loopback: ScrapeSettings, tmp_path: Path
) -> None:
    written = {}
    for workers in (0, 2):
        request = make_request(f"{site_url}/sphinx/")
        request.export_formats = FORMATS
        settings = dataclasses.replace(loopback, workers=workers)
        await scrape(request, tmp_path / str(workers), settings, base_name="widget")
        written[workers] = exports(tmp_path / str(workers))
    assert written[0] == written[2]
    assert "widget-pages/005-api-reference.md" in written[2]


async def test_a_spooled_crawl_keeps_no_markdown_and_exports_from_disk_in_site_order(
    site_url: str, loopback: ScrapeSettings, tmp_path: Path
) -> None:
    request = make_request(f"{site_url}/mkdocs/")
    in_memory = await crawl(request, loopback)
    spool = tmp_path / "spool"
    spool.mkdir()
    spooled = await crawl(request, loopback, spool=spool)
    assert all(p.markdown and p.spooled is None for p in in_memory.pages)
    assert all(not p.markdown and p.spooled is not None for p in spooled.pages)
    assert [p.title for p in spooled.pages] == ["Gadget", "Install", "Usage", "Reference"]
    for crawled, folder in ((in_memory, "memory"), (spooled, "disk")):
        await write_exports(
            crawled, FORMATS, tmp_path / folder, keep_query=False, settings=loopback, base_name="g"
        )
    assert exports(tmp_path / "disk") == exports(tmp_path / "memory")
    combined = (tmp_path / "disk" / "g.md").read_text()
    rendered_by_page = (tmp_path / "disk" / "g.html").read_text()
    assert rendered_by_page == markdown_to_html(combined, document_title(spooled))
    headings = re.findall(r"^## (.+)$", combined.split("## Contents", 1)[1], re.M)
    assert headings == ["Gadget", "Install", "Usage", "Reference"]
    pages = sorted(p.name for p in (tmp_path / "disk" / "g-pages").iterdir())
    assert pages == ["001-gadget.md", "002-install.md", "003-usage.md", "004-reference.md"]


async def test_scrape_removes_its_spool(
    site_url: str, loopback: ScrapeSettings, tmp_path: Path
) -> None:
    result = await scrape(make_request(f"{site_url}/mkdocs/"), tmp_path, loopback)
    assert len(result.crawl.pages) == 4
    assert result.crawl.spool is None
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".jobwerk-spool-")]


async def test_a_cancelled_crawl_stops_its_conversion_processes(
    site_url: str, loopback: ScrapeSettings
) -> None:
    alive: list[int] = []

    def on_progress(progress: ScrapeProgress) -> None:
        alive.append(len(multiprocessing.active_children()))

    result = await crawl(
        make_request(f"{site_url}/edge/", concurrency=1, rate_limit=2.0),
        dataclasses.replace(loopback, unthrottled_hosts=frozenset(), workers=2),
        on_progress=on_progress,
        cancel=lambda: len(alive) > 3,
    )
    assert result.cancelled
    assert max(alive) == 2, "the pages were converted by two worker processes"
    assert multiprocessing.active_children() == []


async def test_a_dying_worker_fails_its_page_and_the_pool_is_replaced() -> None:
    job = PageJob("https://docs.example.org/", b"<main><p>Hello</p></main>", None, None, None)
    async with Converter(1) as converter:
        with pytest.raises(Exception, match="terminated abruptly"):
            await converter.run(os._exit, 3)
        page = await converter.run(convert_page, job)
    assert page.markdown == "Hello\n"
    assert multiprocessing.active_children() == []


needs_fork_server = pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="no fork server"
)


@needs_fork_server
async def test_workers_keep_the_preloaded_objects_out_of_collections() -> None:
    # Frozen in the fork server: a collection in a worker would copy the pages it shares.
    frozen = gc.get_freeze_count()
    async with Converter(1) as converter:
        assert await converter.run(operator.call, gc.get_freeze_count) > 0
    assert gc.get_freeze_count() == frozen  # the crawling process is left alone


@needs_fork_server
def test_workers_do_not_run_the_main_module_again(tmp_path: Path) -> None:
    # Else every worker runs the CLI's or the server's main module and holds its whole import
    # tree privately (about 17 MiB a worker under the benchmark's main module).
    ran = tmp_path / "ran"
    script = tmp_path / "main.py"
    script.write_text(
        textwrap.dedent(f"""
            import asyncio, os
            from jobwerk.modules.docs._convert import PageJob, convert_page
            from jobwerk.modules.docs._pool import Converter

            with open({str(ran)!r}, "a") as handle:
                handle.write(f"{{os.getpid()}}\\n")

            async def main():
                job = PageJob("https://docs.example.org/", b"<main>Hi</main>", None, None, None)
                async with Converter(2) as converter:
                    await asyncio.gather(*(converter.run(convert_page, job) for _ in range(4)))

            if __name__ == "__main__":
                asyncio.run(main())
        """)
    )
    subprocess.run([sys.executable, str(script)], check=True, timeout=60)
    assert len(ran.read_text().split()) == 1, "only in the parent, not in its two workers"


def test_public_hosts_keep_the_polite_defaults_and_ceilings() -> None:
    options = ScrapeOptions()
    assert (options.rate_limit, options.concurrency, options.respect_robots) == (2.0, 2, True)
    assert request_interval(options.rate_limit, owned=False) == 0.5
    assert request_interval(50.0, owned=False) == request_interval(0, owned=False) == 1 / 20
    assert parallel_requests(100, owned=False) == 16


def test_allow_listed_hosts_get_what_the_request_asks() -> None:
    assert request_interval(0, owned=True) == 0.0
    assert request_interval(500.0, owned=True) == 1 / 500
    assert parallel_requests(200, owned=True) == 200
    assert ScrapeOptions(rate_limit=0, concurrency=256).rate_limit == 0
    for bad in ({"rate_limit": 0.05}, {"rate_limit": -1}, {"concurrency": 257}):
        with pytest.raises(ValidationError):
            ScrapeOptions.model_validate(bad)


async def test_the_fetcher_lifts_the_ceiling_for_allow_listed_hosts_only() -> None:
    settings = ScrapeSettings.allowing("10.1.0.0/16", "docs.intranet")
    async with Fetcher(
        settings, user_agent="t", timeout=5, rate_limit=0, concurrency=64
    ) as fetcher:
        private = fetcher._host("http://10.1.2.3/", ipaddress.ip_address("10.1.2.3"))
        named = fetcher._host("http://docs.intranet/", ipaddress.ip_address("192.0.2.7"))
        public = fetcher._host("https://docs.example.org/", ipaddress.ip_address("93.184.215.14"))
    assert (private.interval, private.concurrency._value) == (0.0, 64)
    assert (named.interval, named.concurrency._value) == (0.0, 64)
    assert (public.interval, public.concurrency._value) == (1 / 20, 16)


@given(
    st.sampled_from(
        ["http://h/a/b/c.html", "https://H.x:8080/", "http://h", "http://h/a//b/;p?q#f"]
    ),
    st.text(alphabet="ab/.-_%é~", min_size=1, max_size=16),
)
def test_joining_a_plain_path_matches_urljoin(base: str, path: str) -> None:
    if _PLAIN_PATH.fullmatch(path):
        assert join_path(base, path) == urljoin(base, path)


def test_the_scraper_imports_without_the_server() -> None:
    """The conversion processes import the scraper: it must not pull in the web stack."""
    code = "import sys, jobwerk.modules.docs.scraper; print('fastapi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


_LINE_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_LINE_LINK = re.compile(r"\]\((<[^>\n]*>|[^)\s]+)((?:\s+\"[^\"\n]*\")?)\)")


def line_by_line(markdown: str, resolve: Callable[[str], str | None], demote: bool) -> str:
    """The definition the exports follow, one line at a time: outside fenced code, links are
    resolved and (in sections) headings demoted one level."""

    def link(match: re.Match[str]) -> str:
        new = resolve(match.group(1).strip("<>"))
        return match.group(0) if new is None else f"]({new}{match.group(2)})"

    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        match = _LINE_FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None:
            if match and line.strip() == match.group(1) and match.group(1)[0] == fence[0]:
                fence = None if len(match.group(1)) >= len(fence) else fence
        else:
            line = _LINE_LINK.sub(link, line)
            heading = re.match(r"(#{1,6}) ", line)
            if demote and heading:
                line = "#" * min(6, len(heading.group(1)) + 1) + line[len(heading.group(1)) :]
        out.append(line)
    return "\n".join(out)


# Lines that open, close or fail to close fences, headings, and links (one of them broken
# across two lines, which stays unresolved).
_LINES = st.sampled_from(
    [
        "```",
        "````",
        "~~~",
        "~~~~",
        "  ```py",
        "``` x",
        "\u2028```",
        "",
        " ",
        "# a",
        "###### a",
        "####### a",
        "## [a](http://h/p)",
        "see [a](http://h/p) and [b](x)",
        '[a](http://h/q "t")',
        "[a](<http://h/p>)",
        "[a](http://h/p",
        '"t") [a](http://h/p)',
    ]
)


@given(st.lists(_LINES, max_size=30).map("\n".join))
def test_sections_and_page_files_rewrite_outside_code_as_line_by_line(markdown: str) -> None:
    def resolve(url: str) -> str | None:
        return "#p001" if url.startswith("http://h/p") else None

    head = markdown_section("T", "http://h/", "p1", "", resolve)
    body = line_by_line(markdown, resolve, demote=True).strip()
    section = markdown_section("T", "http://h/", "p1", markdown, resolve)
    assert section == (f"{head}\n\n{body}" if body else head)
    body = line_by_line(markdown, resolve, demote=False).strip()
    page = page_markdown("T", "http://h/", markdown, resolve)
    assert page == f"# T\n\nSource: <http://h/>\n\n{body}\n"
