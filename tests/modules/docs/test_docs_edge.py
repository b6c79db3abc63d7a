"""Hand-made edge cases: robots, redirects, loops, limits, throttling, encodings, cancellation."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time

from jobwerk.modules.docs.scraper import ScrapeProgress, ScrapeSettings, crawl
from tests.support.docs import ServerState, make_request


async def test_edge_site(
    site_url: str, loopback: ScrapeSettings, server_state: ServerState
) -> None:
    server_state.throttled.clear()
    settings = dataclasses.replace(loopback, max_page_bytes=1_000_000)
    reports: list[ScrapeProgress] = []
    result = await crawl(
        make_request(f"{site_url}/edge/"),
        settings,
        on_progress=lambda p: reports.append(dataclasses.replace(p, skipped=dict(p.skipped))),
    )
    urls = [p.final_url.removeprefix(site_url) for p in result.pages]
    assert len(urls) == len(set(urls)), "every page exactly once"
    assert urls[0] == "/edge/"
    assert {"/edge/loop-a.html", "/edge/loop-b.html", "/edge/target.html"} <= set(urls)
    assert "/edge/sitemap-only.html" in urls, "sitemap URLs seed the crawl"
    assert "/outside.html" not in urls, "sitemap and link URLs are scope-checked"
    assert not any("private" in u or "lang=" in u for u in urls), "robots.txt honoured"
    assert "/edge/throttled.html" in urls, "429 with Retry-After is retried"
    assert server_state.throttled["/edge/throttled.html"] == 2
    latin1 = next(p for p in result.pages if p.final_url.endswith("latin1.html"))
    assert "Größe und Maß: naïve façade." in latin1.markdown
    assert latin1.title == "Café"
    skipped = {s.url.removeprefix(site_url): s.reason for s in result.skipped}
    assert skipped["/edge/private/secret.html"] == "robots"
    assert skipped["/edge/page.html?lang=de"] == "robots"
    assert skipped["/edge/redirect-out.html"].startswith("out_of_scope")
    assert skipped["/edge/file.pdf.html"] == "non_html"
    assert skipped["/edge/noindex.html"] == "noindex"
    failed = {f.url.removeprefix(site_url): f for f in result.failed}
    assert failed["/edge/missing.html"].status_code == 404
    assert "larger than" in failed["/edge/huge.html"].reason
    assert "/edge/docs.pdf" not in skipped and "/edge/docs.pdf" not in failed
    final = result.progress
    assert final.pages_ok + final.pages_failed + final.pages_skipped == final.pages_done
    assert final.pages_ok == len(result.pages)
    assert reports[-1].pages_done == final.pages_done
    assert all(r.pages_ok + r.pages_failed + r.pages_skipped == r.pages_done for r in reports)
    assert result.stop_reason is None and not result.cancelled


async def test_depth_and_page_limits(site_url: str, loopback: ScrapeSettings) -> None:
    shallow = await crawl(
        make_request(f"{site_url}/sphinx/", max_depth=0, use_sitemaps=False), loopback
    )
    assert [p.title for p in shallow.pages] == ["Widget documentation"]
    limited = await crawl(make_request(f"{site_url}/sphinx/", max_pages=2), loopback)
    assert len(limited.pages) == 2
    assert limited.stop_reason == "max_pages"


async def test_include_exclude_globs(site_url: str, loopback: ScrapeSettings) -> None:
    result = await crawl(make_request(f"{site_url}/sphinx/", exclude=["/sphinx/guide/*"]), loopback)
    assert "Installation" not in [p.title for p in result.pages]
    assert "Introduction" in [p.title for p in result.pages]


async def test_cancellation_keeps_partial_result(site_url: str, loopback: ScrapeSettings) -> None:
    cancel = asyncio.Event()

    def on_progress(progress: ScrapeProgress) -> None:
        if progress.pages_ok >= 2:
            cancel.set()

    started = time.monotonic()
    result = await crawl(
        make_request(f"{site_url}/edge/", concurrency=1, rate_limit=2.0),
        dataclasses.replace(loopback, unthrottled_hosts=frozenset()),
        on_progress=on_progress,
        cancel=cancel,
    )
    assert result.cancelled and result.stop_reason == "cancelled"
    assert 2 <= len(result.pages) < 8
    assert time.monotonic() - started < 5


async def test_callable_cancel_stops_slow_fetch(site_url: str, loopback: ScrapeSettings) -> None:
    deadline = time.monotonic() + 0.5
    result = await crawl(
        make_request(f"{site_url}/edge/slow.html", use_sitemaps=False, concurrency=1),
        loopback,
        cancel=lambda: time.monotonic() > deadline,
    )
    assert result.cancelled
    assert time.monotonic() - deadline < 0.45, "an in-flight slow fetch is cancelled too"


async def test_robots_unreachable_means_disallow(
    site_url: str, loopback: ScrapeSettings, server_state: ServerState
) -> None:
    server_state.robots_status = 503
    try:
        settings = dataclasses.replace(loopback, max_retries=0)
        blocked = await crawl(make_request(f"{site_url}/sphinx/"), settings)
        assert not blocked.pages
        assert blocked.skipped[0].reason == "robots (robots.txt unreachable)"
        server_state.robots_status = 404
        allowed = await crawl(make_request(f"{site_url}/edge/", use_sitemaps=False), settings)
        robots_skips = [s for s in allowed.skipped if s.reason.startswith("robots")]
        assert not robots_skips, "4xx robots.txt allows all"
        assert any("private" in f.url for f in allowed.failed)
    finally:
        server_state.robots_status = 200


async def test_connection_refused_is_named(loopback: ScrapeSettings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/docs/"  # nothing listens once closed
    settings = dataclasses.replace(loopback, max_retries=0)
    polite = await crawl(make_request(url), settings)
    assert [s.reason for s in polite.skipped] == ["robots (robots.txt unreachable)"]
    direct = await crawl(make_request(url, respect_robots=False, use_sitemaps=False), settings)
    [failed] = direct.failed
    assert (failed.url, failed.reason) == (url, "network error: Connection refused")
