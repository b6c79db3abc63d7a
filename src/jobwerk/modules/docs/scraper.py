"""Public API of the documentation scraper engine: ``scrape``, ``crawl``, pre-flight helpers."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from ._cache import CacheEntry, CrawlCache
from ._combine import combined_markdown, markdown_to_html
from ._crawl import CancelToken, Crawler, ProgressCallback
from ._export import CONTENT_TYPES, write_exports
from ._extract import ExtractedPage, decode_html, extract_page
from ._fetch import FetchError
from ._inspect import estimate_scrape, validate_target
from ._markdown import code_language, html_to_markdown
from ._models import (
    CrawlResult,
    Credentials,
    Estimate,
    ExportFile,
    ExportFormat,
    FailedPage,
    Page,
    ScrapeOptions,
    ScrapeProgress,
    ScrapeRequest,
    ScrapeResult,
    ScrapeSettings,
    SkippedPage,
    ValidationReport,
)
from ._ssrf import SSRFGuard, UnsafeTarget, is_public
from ._urls import Scope, normalize_url

__all__ = [
    "CONTENT_TYPES",
    "CacheEntry",
    "CancelToken",
    "CrawlCache",
    "CrawlResult",
    "Credentials",
    "Estimate",
    "ExportFile",
    "ExportFormat",
    "ExtractedPage",
    "FailedPage",
    "FetchError",
    "Page",
    "ProgressCallback",
    "SSRFGuard",
    "Scope",
    "ScrapeOptions",
    "ScrapeProgress",
    "ScrapeRequest",
    "ScrapeResult",
    "ScrapeSettings",
    "SkippedPage",
    "UnsafeTarget",
    "ValidationReport",
    "code_language",
    "combined_markdown",
    "crawl",
    "decode_html",
    "estimate_scrape",
    "extract_page",
    "html_to_markdown",
    "is_public",
    "markdown_to_html",
    "normalize_url",
    "scrape",
    "validate_target",
]


async def crawl(
    request: ScrapeRequest,
    settings: ScrapeSettings | None = None,
    *,
    credentials: Credentials | None = None,
    cache: CrawlCache | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    spool: Path | None = None,
) -> CrawlResult:
    """Crawl a documentation site and extract every in-scope page as Markdown.

    Pages are converted by ``settings.workers`` processes (one per CPU by default) while the
    fetcher goes on.

    Args:
        request: what to crawl (validated user input).
        settings: operator settings: SSRF allow-list, size caps, retries; defaults are strict.
        credentials: auth headers/cookies, sent only to the start URL's origin.
        cache: validators and content of a previous run; updated in place for the next run.
        on_progress: called (sync or async) after every page with the live counters.
        cancel: an ``asyncio.Event`` or a callable returning True to stop; fetched pages are kept.
        spool: an existing folder for the pages' Markdown, which then stays on disk instead of
            in the result (``CrawlResult.open_spool`` reads it).

    Returns:
        The pages in site order, failures and skips; ``cancelled``/``stop_reason`` say why it
        ended early.

    Raises:
        UnsafeTarget: the start URL is refused by the SSRF guard.
    """
    crawler = Crawler(
        request,
        settings or ScrapeSettings(),
        credentials=credentials,
        cache=cache,
        on_progress=on_progress,
        cancel=cancel,
        spool=str(spool) if spool is not None else None,
    )
    return await crawler.run()


async def scrape(
    request: ScrapeRequest,
    output_dir: Path,
    settings: ScrapeSettings | None = None,
    *,
    credentials: Credentials | None = None,
    cache_path: Path | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    base_name: str | None = None,
) -> ScrapeResult:
    """Crawl, then write the requested exports (also for a cancelled, partial crawl).

    The pages stream to a spool folder inside ``output_dir`` as they are converted (or taken
    from the cache) and the exports are written from it in site order, so memory stays flat
    however large the site; the spool is removed afterwards (the result's pages then carry no
    Markdown: it is in the export files).

    Args:
        request: what to crawl and which formats to export.
        output_dir: folder for the export files (created if missing).
        settings: operator settings, see ``crawl``.
        credentials: auth headers/cookies for the start URL's origin.
        cache_path: the previous run's cache file; read before and written after.
        on_progress: progress callback, see ``crawl``.
        cancel: cancellation token, see ``crawl``.
        base_name: base of the export file names; default derived from the start URL.

    Returns:
        The crawl result and the list of written files.

    Raises:
        UnsafeTarget: the start URL is refused by the SSRF guard.
    """
    settings = settings or ScrapeSettings()
    spool = Path(await asyncio.to_thread(_make_spool, output_dir))
    cache: CrawlCache | None = None
    try:
        if cache_path is not None:
            cache = await asyncio.to_thread(CrawlCache.load, cache_path)
        result = await crawl(
            request,
            settings,
            credentials=credentials,
            cache=cache,
            on_progress=on_progress,
            cancel=cancel,
            spool=spool,
        )
        if cache is not None and cache_path is not None:
            await asyncio.to_thread(cache.save, cache_path)
        files = await write_exports(
            result,
            request.export_formats,
            output_dir,
            keep_query=request.options.keep_query,
            settings=settings,
            base_name=base_name,
        )
    finally:
        if cache is not None:
            cache.close()
        await asyncio.shield(asyncio.to_thread(shutil.rmtree, spool, True))
    result.spool = None
    return ScrapeResult(result, files)


def _make_spool(output_dir: Path) -> str:
    output_dir.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix=".jobwerk-spool-", dir=output_dir)
