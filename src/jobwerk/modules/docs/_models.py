"""Request, settings and result models of the documentation scraper."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from ._spool import SpoolReader, SpoolRef

DEFAULT_USER_AGENT = "jobwerk-docs/1.0 (+https://github.com/jobwerk/jobwerk)"
ROBOTS_TOKEN = "jobwerk"
# Politeness ceilings for hosts on the public internet; allow-listed hosts (the operator's own)
# get what the request asks for, up to what one machine sensibly opens.
PUBLIC_MAX_RATE = 20.0
PUBLIC_MAX_CONCURRENCY = 16
MAX_CONCURRENCY = 256


class ExportFormat(StrEnum):
    """Formats of the combined export document."""

    MARKDOWN = "markdown"
    JSON = "json"
    HTML = "html"
    PDF = "pdf"


class ScrapeOptions(BaseModel):
    """Crawl options a user may set; bounds keep a single run polite and finite."""

    model_config = ConfigDict(extra="forbid")

    max_depth: int = Field(10, ge=0, le=100, description="link hops from the start URL")
    max_pages: int = Field(500, ge=1, le=50_000)
    rate_limit: float = Field(
        2.0,
        ge=0,
        description="requests per second per host, 0 for no limit; hosts outside the operator's "
        f"allow-list get at most {PUBLIC_MAX_RATE:g}",
    )
    concurrency: int = Field(
        2,
        ge=1,
        le=MAX_CONCURRENCY,
        description="parallel requests per host; hosts outside the operator's allow-list get at "
        f"most {PUBLIC_MAX_CONCURRENCY}",
    )
    include: list[str] = Field(default_factory=list, description="globs on the URL path")
    exclude: list[str] = Field(default_factory=list, description="globs on the URL path")
    path_prefix: str | None = Field(None, description="scope prefix; default: the start URL's")
    respect_robots: bool = True
    use_sitemaps: bool = True
    keep_query: bool = Field(False, description="treat ?query variants as distinct pages")
    render_js: bool = False
    content_selector: str | None = Field(None, max_length=200, description="CSS override")
    timeout: float = Field(20.0, gt=0, le=120, description="seconds per request")
    max_duration_seconds: float = Field(3600.0, gt=0, le=86_400)
    user_agent: str = Field(
        DEFAULT_USER_AGENT,
        min_length=1,
        max_length=300,
        pattern=r"^[\x20-\x7e]+$",
        description="printable ASCII, as HTTP headers carry it",
    )

    @field_validator("rate_limit")
    @classmethod
    def _rate_or_unlimited(cls, rate: float) -> float:
        if 0 < rate < 0.1:
            raise ValueError("must be 0 (no limit) or at least 0.1")
        return rate

    @field_validator("include", "exclude")
    @classmethod
    def _bounded_patterns(cls, patterns: list[str]) -> list[str]:
        if len(patterns) > 50 or any(len(p) > 300 for p in patterns):
            raise ValueError("at most 50 patterns of up to 300 characters")
        return patterns


class ScrapeRequest(BaseModel):
    """One scrape as the API and CLI receive it."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    export_formats: list[ExportFormat] = Field(default_factory=lambda: [ExportFormat.MARKDOWN])
    options: ScrapeOptions = Field(default_factory=ScrapeOptions)
    credential_id: str | None = Field(None, max_length=100)

    @field_validator("url")
    @classmethod
    def _plain_http_url(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if url.username or url.password:
            raise ValueError("credentials inside the URL are not accepted")
        return url

    @field_validator("export_formats")
    @classmethod
    def _unique_formats(cls, formats: list[ExportFormat]) -> list[ExportFormat]:
        if not formats:
            raise ValueError("at least one export format is needed")
        return list(dict.fromkeys(formats))


@dataclass(frozen=True)
class Credentials:
    """Auth the caller resolved from ``credential_id``; sent only to the start URL's origin."""

    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Credentials(headers={sorted(self.headers)}, cookies={sorted(self.cookies)})"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ScrapeSettings:
    """Operator settings (trusted, from configuration), never from the request body.

    ``allow_hosts``/``allow_networks`` admit otherwise refused private targets (SSRF allow-list)
    and lift the public rate and concurrency ceilings; ``unthrottled_hosts`` skip the per-host
    rate limit altogether (own mirrors, loopback benchmarks). ``workers`` is the number of
    conversion processes: ``None`` for one per CPU, ``0`` to convert in the crawling process.
    """

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[Network, ...] = ()
    allowed_ports: frozenset[int] | None = frozenset({80, 443})
    unthrottled_hosts: frozenset[str] = frozenset()
    max_page_bytes: int = 10 * 1024 * 1024
    max_total_bytes: int = 500 * 1024 * 1024
    max_redirects: int = 5
    max_retries: int = 3
    backoff_base: float = 0.5
    max_retry_after: float = 60.0
    max_sitemaps: int = 20
    max_sitemap_urls: int = 50_000
    chromium_path: str = "/usr/bin/chromium"
    workers: int | None = None

    @classmethod
    def allowing(cls, *targets: str, **kwargs: object) -> ScrapeSettings:
        """Settings whose SSRF allow-list admits ``targets`` (host names, IPs or CIDRs)."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for target in targets:
            try:
                networks.append(ipaddress.ip_network(target, strict=False))
            except ValueError:
                hosts.add(target.lower())
        return cls(
            allow_hosts=frozenset(hosts),
            allow_networks=tuple(networks),
            allowed_ports=None,
            **kwargs,  # type: ignore[arg-type]
        )


SkipReason = Literal[
    "robots", "duplicate", "non_html", "no_content", "out_of_scope", "noindex", "not_modified"
]


@dataclass
class ScrapeProgress:
    """Live crawl counters; ``pages_ok + pages_failed + pages_skipped == pages_done``."""

    pages_done: int = 0
    pages_queued: int = 0
    pages_ok: int = 0
    pages_failed: int = 0
    pages_skipped: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    bytes_fetched: int = 0
    current_url: str | None = None
    last_error: str | None = None
    max_pages: int = 0

    @property
    def percent(self) -> float:
        """Share of the expected work done, 0–100."""
        total = min(self.pages_done + self.pages_queued, self.max_pages or 1 << 30)
        return 100.0 if total == 0 else min(100.0, 100.0 * self.pages_done / total)


ChangeStatus = Literal["new", "same", "changed"]


@dataclass(slots=True)
class Page:
    """One extracted page; ``markdown`` is the body without the title heading.

    In a spooled crawl the body lies on disk instead (``spooled``; ``markdown`` is then empty):
    read it with ``CrawlResult.open_spool``.
    """

    url: str
    final_url: str
    title: str
    markdown: str
    depth: int
    links: list[str]
    content_hash: str
    etag: str | None = None
    last_modified: str | None = None
    crawled_at: datetime | None = None
    change: ChangeStatus = "new"
    spooled: SpoolRef | None = None


@dataclass(frozen=True)
class FailedPage:
    """A page that could not be fetched or processed; never fatal for the run."""

    url: str
    reason: str
    status_code: int | None = None


@dataclass(frozen=True)
class SkippedPage:
    """A page left out on purpose, with the reason."""

    url: str
    reason: str


@dataclass(frozen=True)
class ExportFile:
    """A written export file, relative to the output folder."""

    name: str
    format: str
    size: int
    content_type: str
    path: Path


@dataclass
class CrawlResult:
    """Everything a crawl produced, also when it was cancelled or hit a budget."""

    start_url: str
    pages: list[Page]
    failed: list[FailedPage]
    skipped: list[SkippedPage]
    aliases: dict[str, str]
    removed: list[str]
    cancelled: bool
    stop_reason: str | None
    progress: ScrapeProgress
    duration_seconds: float
    spool: str | None = None

    def open_spool(self) -> PageTexts:
        """A reader of the pages' Markdown, in memory or spooled (a context manager)."""
        return PageTexts(self.spool)


class PageTexts:
    """Gives each page's Markdown, reading spooled pages from disk; close it after use."""

    def __init__(self, spool: str | None) -> None:
        self._reader = SpoolReader(spool) if spool else None

    def markdown(self, page: Page) -> str:
        """The page's Markdown body."""
        if page.spooled is None or self._reader is None:
            return page.markdown
        return self._reader.read(page.spooled)

    def close(self) -> None:
        """Close the spool files."""
        if self._reader is not None:
            self._reader.close()

    def __enter__(self) -> PageTexts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ScrapeResult:
    """A crawl plus the export files written from it."""

    crawl: CrawlResult
    files: list[ExportFile]


class ValidationReport(BaseModel):
    """Answer of ``validate_target``: can this URL be scraped, and how best."""

    valid: bool
    url: str
    reachable: bool
    status_code: int | None = None
    robots_allowed: bool | None = None
    sitemap_urls: int = 0
    looks_like_spa: bool = False
    warnings: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)


class Estimate(BaseModel):
    """Answer of ``estimate_scrape``: expected pages and duration."""

    estimated_pages: int
    estimated_duration_seconds: float
    sitemap_pages: int
    sampled_pages: int
    basis: Annotated[str, Field(description="'sitemap' or 'link_sampling'")]
