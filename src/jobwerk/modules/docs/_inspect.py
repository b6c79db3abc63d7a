"""Pre-flight checks for a scrape: validation (reachability, robots, SSRF) and size estimates."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from ._discovery import discover_sitemap_urls, fetch_robots
from ._extract import decode_html, extract_page
from ._fetch import (
    Fetcher,
    FetchError,
    OutOfScopeRedirect,
    Response,
    UnsafeTarget,
    parallel_requests,
    request_interval,
)
from ._models import Credentials, Estimate, ScrapeRequest, ScrapeSettings, ValidationReport
from ._urls import Scope, looks_binary, normalize_url

_SAMPLE_PAGES = 5


def _fetcher(
    request: ScrapeRequest, settings: ScrapeSettings, creds: Credentials | None
) -> Fetcher:
    options = request.options
    return Fetcher(
        settings,
        user_agent=options.user_agent,
        timeout=min(options.timeout, 15.0),
        rate_limit=options.rate_limit,
        concurrency=options.concurrency,
        credentials=creds,
    )


async def validate_target(
    request: ScrapeRequest, settings: ScrapeSettings, credentials: Credentials | None = None
) -> ValidationReport:
    """Check that a scrape can start: safe target, reachable HTML, robots, sitemaps, JS needs."""
    url = str(request.url)
    report = ValidationReport(valid=True, url=url, reachable=False)
    scope = Scope.for_start(url, request.options.path_prefix)
    async with _fetcher(request, settings, credentials) as fetcher:
        try:
            await fetcher.guard.resolve(url)
        except UnsafeTarget as exc:
            return _invalid(report, f"refused target: {exc.message}")
        robots = await fetch_robots(fetcher, url)
        report.robots_allowed = robots.allows(url)
        if robots.unreachable:
            report.warnings.append("robots.txt is unreachable (5xx/network): crawling is refused")
        if not report.robots_allowed and request.options.respect_robots:
            return _invalid(report, "robots.txt disallows the start URL")
        delay = robots.crawl_delay()
        if delay and delay * (request.options.rate_limit or float("inf")) > 1:
            report.warnings.append(f"robots.txt asks for a crawl delay of {delay:g}s")
        try:
            response = await fetcher.get(url, in_scope=scope.contains)
        except (UnsafeTarget, FetchError) as exc:
            report.status_code = getattr(exc, "status_code", None)
            reason = exc.message if isinstance(exc, UnsafeTarget) else exc.reason
            return _invalid(report, f"start URL not usable: {reason}")
        except OutOfScopeRedirect as exc:
            report.recommendations.append(f"start from {exc.target} (the URL redirects there)")
            return _invalid(report, "the start URL redirects out of scope")
        report.reachable, report.status_code = True, response.status_code
        sitemap = [
            u for u in await discover_sitemap_urls(fetcher, url, robots) if scope.contains(u)
        ]
        report.sitemap_urls = len(sitemap)
        _advise(request, report, response, len(sitemap))
    return report


def _invalid(report: ValidationReport, warning: str) -> ValidationReport:
    report.valid = False
    report.warnings.append(warning)
    return report


def _advise(
    request: ScrapeRequest, report: ValidationReport, response: Response, sitemap_count: int
) -> None:
    page = extract_page(decode_html(response.body, response.charset), response.final_url)
    report.looks_like_spa = page.looks_like_spa
    if page.looks_like_spa and not request.options.render_js:
        report.recommendations.append("enable render_js: the page looks like a JavaScript app")
    if page.content is None and not page.looks_like_spa:
        report.warnings.append("no main content found on the start page")
    if sitemap_count > request.options.max_pages:
        report.recommendations.append(
            f"the sitemap lists {sitemap_count} pages; raise max_pages to get them all"
        )
    if sitemap_count == 0:
        report.recommendations.append("no sitemap found: pages are discovered through links only")
    if len(response.body) > 2 * 1024 * 1024:
        report.warnings.append(f"the start page is large ({len(response.body) // 1024} KiB)")


async def estimate_scrape(
    request: ScrapeRequest, settings: ScrapeSettings, credentials: Credentials | None = None
) -> Estimate:
    """Estimate pages and duration from sitemaps, else by sampling links of a few pages.

    Raises:
        UnsafeTarget: the SSRF guard refuses the target.
    """
    url = str(request.url)
    options = request.options
    scope = Scope.for_start(url, options.path_prefix, options.include, options.exclude)
    async with _fetcher(request, settings, credentials) as fetcher:
        robots = await fetch_robots(fetcher, url) if options.use_sitemaps else None
        sitemap = (
            {normalize_url(u) for u in await discover_sitemap_urls(fetcher, url, robots)}
            if options.use_sitemaps
            else set()
        )
        sitemap = {u for u in sitemap if scope.contains(u)}
        found, sampled, latency = await _sample_links(fetcher, url, scope)
        host = urlsplit(url).hostname or ""
        unthrottled = host in settings.unthrottled_hosts
        owned = unthrottled or fetcher.guard.allow_listed(host, await fetcher.guard.resolve(url))
    if sitemap:
        pages, basis = len(sitemap | found), "sitemap"
    else:
        growth = max(1.0, len(found) / max(1, sampled))
        pages, basis = (
            int(len(found) + growth * max(0, min(options.max_depth, 3) - 1)),
            "link_sampling",
        )
    pages = max(1, min(pages, options.max_pages))
    interval = 0.0 if unthrottled else request_interval(options.rate_limit, owned=owned)
    rate = 1 / interval if interval else float("inf")
    parallel = parallel_requests(options.concurrency, owned=owned)
    throughput = min(rate, parallel / max(latency, 0.01))
    return Estimate(
        estimated_pages=pages,
        estimated_duration_seconds=round(pages / throughput + 1.0, 1),
        sitemap_pages=len(sitemap),
        sampled_pages=sampled,
        basis=basis,
    )


async def _sample_links(fetcher: Fetcher, url: str, scope: Scope) -> tuple[set[str], int, float]:
    """Fetch the start page and a few linked pages; return in-scope URLs, count, mean latency."""
    found: set[str] = {normalize_url(url)}
    queue = [url]
    sampled = 0
    spent = 0.0
    while queue and sampled < _SAMPLE_PAGES:
        target = queue.pop(0)
        started = time.monotonic()
        try:
            response = await fetcher.get(target, in_scope=scope.contains)
        except (FetchError, OutOfScopeRedirect):
            continue
        spent += time.monotonic() - started
        sampled += 1
        page = extract_page(decode_html(response.body, response.charset), response.final_url)
        for link in page.links:
            key = normalize_url(link)
            if scope.contains(link) and not looks_binary(link) and key not in found:
                found.add(key)
                queue.append(link)
    return found, sampled, spent / max(1, sampled)
