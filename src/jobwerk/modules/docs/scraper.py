"""Public API of the documentation scraper engine: ``scrape``, ``crawl``, pre-flight helpers."""

from __future__ import annotations

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
) -> CrawlResult:
    """Crawl a documentation site and extract every in-scope page as Markdown.

    Args:
        request: what to crawl (validated user input).
        settings: operator settings: SSRF allow-list, size caps, retries; defaults are strict.
        credentials: auth headers/cookies, sent only to the start URL's origin.
        cache: validators and content of a previous run; updated in place for the next run.
        on_progress: called (sync or async) after every page with the live counters.
        cancel: an ``asyncio.Event`` or a callable returning True to stop; fetched pages are kept.

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

    Args:
        request: what to crawl and which formats to export.
        output_dir: folder for the export files (created if missing).
        settings: operator settings, see ``crawl``.
        credentials: auth headers/cookies for the start URL's origin.
        cache_path: JSON file with the previous run's cache; read before and written after.
        on_progress: progress callback, see ``crawl``.
        cancel: cancellation token, see ``crawl``.
        base_name: base of the export file names; default derived from the start URL.

    Returns:
        The crawl result and the list of written files.

    Raises:
        UnsafeTarget: the start URL is refused by the SSRF guard.
    """
    settings = settings or ScrapeSettings()
    cache = CrawlCache.load(cache_path) if cache_path else None
    result = await crawl(
        request,
        settings,
        credentials=credentials,
        cache=cache,
        on_progress=on_progress,
        cancel=cancel,
    )
    if cache is not None and cache_path is not None:
        cache.save(cache_path)
    keep_query = request.options.keep_query
    files = await write_exports(
        result,
        request.export_formats,
        output_dir,
        key=lambda url: normalize_url(url, keep_query=keep_query),
        settings=settings,
        base_name=base_name,
    )
    return ScrapeResult(result, files)
