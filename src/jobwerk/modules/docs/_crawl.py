"""The crawl loop: frontier, limits, de-duplication, progress and cancellation."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from ._browser import Renderer, chromium
from ._cache import CachedBody, CrawlCache
from ._combine import site_order
from ._convert import ConvertedPage, PageJob, convert_page
from ._discovery import Robots, discover_sitemap_urls, fetch_robots
from ._extract import decode_html
from ._fetch import Fetcher, FetchError, OutOfScopeRedirect, Response, UnsafeTarget
from ._models import (
    ChangeStatus,
    CrawlResult,
    Credentials,
    FailedPage,
    Page,
    PageTexts,
    ScrapeProgress,
    ScrapeRequest,
    ScrapeSettings,
    SkippedPage,
)
from ._pool import Converter
from ._spool import append_text
from ._urls import Scope, looks_binary, normalize_url, origin

log = structlog.get_logger("jobwerk.docs")

ProgressCallback = Callable[[ScrapeProgress], Awaitable[None] | None]
CancelToken = asyncio.Event | Callable[[], bool]


@dataclass(frozen=True)
class _Item:
    url: str
    key: str
    depth: int


class Crawler:
    """Crawls one documentation site as described by a ``ScrapeRequest``.

    Fetching runs on the event loop; each fetched page goes to a conversion process and the
    fetcher moves on (``_slots`` bounds the pages fetched but not yet converted). With a
    ``spool`` folder the converted Markdown goes to disk instead of into the result.
    """

    def __init__(
        self,
        request: ScrapeRequest,
        settings: ScrapeSettings,
        *,
        credentials: Credentials | None = None,
        cache: CrawlCache | None = None,
        on_progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        spool: str | None = None,
    ) -> None:
        self.request = request
        self.options = request.options
        self.settings = settings
        self.start_url = str(request.url)
        self.scope = Scope.for_start(
            self.start_url, self.options.path_prefix, self.options.include, self.options.exclude
        )
        self.credentials = credentials
        self.cache = cache
        self._previous = dict(cache.entries) if cache is not None else {}
        self._spool = spool
        self._texts = PageTexts(None)  # reads the spool while the crawl runs
        self._on_progress = on_progress
        self._cancel = cancel
        self.progress = ScrapeProgress(max_pages=self.options.max_pages)
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._seen: set[str] = set()
        self._done_keys: set[str] = set()
        self._hashes: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._pages: dict[str, Page] = {}
        self._failed: list[FailedPage] = []
        self._skipped: list[SkippedPage] = []
        self._robots: dict[str, Robots] = {}
        self._in_flight = 0
        self._stop_reason: str | None = None
        self._renderer: Renderer | None = None
        self._memo: dict[str, str | None] = {}
        self._hard_stop = False  # a budget that also cancels in-flight fetches
        self._converter: Converter | None = None
        self._conversions: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(1)

    def _key(self, url: str) -> str:
        return normalize_url(url, keep_query=self.options.keep_query)

    def _crawlable(self, url: str) -> str | None:
        """The key of an in-scope, HTML-looking URL, else None (memoised: nav links repeat)."""
        url = url.split("#", 1)[0]
        if url in self._memo:
            return self._memo[url]
        ok = self.scope.contains(url) and not looks_binary(url)
        key = self._key(url) if ok else None
        self._memo[url] = key
        return key

    async def run(self) -> CrawlResult:
        """Crawl until the frontier is empty, a limit is hit or the run is cancelled."""
        started = time.monotonic()
        async with AsyncExitStack() as stack:
            fetcher = await stack.enter_async_context(self._fetcher())
            self._converter = await stack.enter_async_context(Converter(self.settings.workers))
            self._texts = stack.enter_context(PageTexts(self._spool))
            # Enough fetched pages waiting that no worker idles, few enough to bound memory.
            self._slots = asyncio.Semaphore(2 * self._converter.workers + 2)
            if self.options.render_js:
                browser = await stack.enter_async_context(chromium(self.settings.chromium_path))
                self._renderer = Renderer(browser, fetcher.guard, self.options.timeout)
            await self._seed(fetcher)
            await self._report(None)
            await self._crawl(fetcher)
            self.progress.bytes_fetched = fetcher.bytes_fetched
        self.progress.current_url = None
        self.progress.pages_queued = 0
        return self._result(time.monotonic() - started)

    def _fetcher(self) -> Fetcher:
        return Fetcher(
            self.settings,
            user_agent=self.options.user_agent,
            timeout=self.options.timeout,
            rate_limit=self.options.rate_limit,
            concurrency=self.options.concurrency,
            credentials=self.credentials,
            auth_origin=origin(self.start_url),
        )

    async def _seed(self, fetcher: Fetcher) -> None:
        await fetcher.guard.resolve(self.start_url)
        if self._crawlable(self.start_url) is None:
            # Skipped with a reason: a crawl that fetches nothing must still say why.
            reason = "non_html" if looks_binary(self.start_url) else "out_of_scope"
            self._skip(self.start_url, reason)
        self._enqueue(self.start_url, 0)
        robots = None
        if self.options.respect_robots or self.options.use_sitemaps:
            robots = await self._robots_for(fetcher, self.start_url)
        if self.options.use_sitemaps:
            for url in await discover_sitemap_urls(fetcher, self.start_url, robots):
                self._enqueue(url, 0)

    async def _robots_for(self, fetcher: Fetcher, url: str) -> Robots:
        key = origin(url)
        robots = self._robots.get(key)
        if robots is None:
            robots = await fetch_robots(fetcher, url)
            self._robots[key] = robots
            delay = robots.crawl_delay()
            if delay and self.options.respect_robots:
                fetcher.set_crawl_delay(url, delay)
        return robots

    def _enqueue(self, url: str, depth: int) -> None:
        key = self._crawlable(url)
        if key is None or key in self._seen or depth > self.options.max_depth:
            return
        self._seen.add(key)
        self._queue.put_nowait(_Item(url.split("#", 1)[0], key, depth))
        self.progress.pages_queued = self._queue.qsize()

    async def _crawl(self, fetcher: Fetcher) -> None:
        workers = [
            asyncio.create_task(self._worker(fetcher)) for _ in range(self.options.concurrency)
        ]
        joined = asyncio.create_task(self._queue.join())
        watchers = {joined, asyncio.create_task(self._wait_cancel())}
        try:
            done, _ = await asyncio.wait(
                watchers, timeout=self.options.max_duration_seconds, return_when="FIRST_COMPLETED"
            )
            if not done:
                self._stop_reason = "time_budget"
            elif self._stop_reason is None and self._cancel_requested():
                self._stop_reason = "cancelled"
        finally:
            tasks = [*workers, *watchers, *self._conversions]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _wait_cancel(self) -> None:
        while not self._hard_stop and not self._cancel_requested():  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # a callable token can only be polled

    def _cancel_requested(self) -> bool:
        if isinstance(self._cancel, asyncio.Event):
            return self._cancel.is_set()
        return self._cancel is not None and self._cancel()

    def _cancelled(self) -> bool:
        return self._stop_reason is not None or self._cancel_requested()

    async def _worker(self, fetcher: Fetcher) -> None:
        while True:
            item = await self._queue.get()
            handed_off = False  # then the conversion task finishes the item
            try:
                if self._cancelled():
                    continue
                if len(self._pages) + self._in_flight >= self.options.max_pages:
                    self._stop_reason = self._stop_reason or "max_pages"
                    continue
                self._in_flight += 1
                try:
                    handed_off = await self._process(fetcher, item)
                except Exception as exc:
                    self._page_error(item, exc)
                finally:
                    if not handed_off:
                        self._in_flight -= 1
                if not handed_off:
                    await self._page_done(fetcher, item)
            finally:
                if not handed_off:
                    self._queue.task_done()

    def _page_error(self, item: _Item, exc: Exception) -> None:
        # A page that breaks extraction or conversion fails alone; the crawl goes on (a dead
        # worker would end the crawl early or stall it).
        log.error("page failed", url=item.url, exc_info=exc)
        self._fail(item.url, f"internal error: {type(exc).__name__}: {exc}")

    async def _page_done(self, fetcher: Fetcher, item: _Item) -> None:
        if fetcher.bytes_fetched > self.settings.max_total_bytes:
            self._stop_reason, self._hard_stop = "max_total_bytes", True
        self.progress.bytes_fetched = fetcher.bytes_fetched
        self.progress.pages_queued = self._queue.qsize()
        await self._report(item.url)

    async def _process(self, fetcher: Fetcher, item: _Item) -> bool:
        """Fetch one page; True when it went on to conversion."""
        self.progress.current_url = item.url
        if self.options.respect_robots:
            robots = await self._robots_for(fetcher, item.url)
            if not robots.allows(item.url):
                unreachable = " (robots.txt unreachable)" if robots.unreachable else ""
                self._skip(item.url, "robots" + unreachable)
                return False
        headers = self.cache.conditional_headers(item.key) if self.cache is not None else {}
        try:
            response = await fetcher.get(item.url, extra_headers=headers, in_scope=self._in_scope)
        except OutOfScopeRedirect as exc:
            self._skip(item.url, f"out_of_scope redirect to {exc.target}")
            return False
        except UnsafeTarget as exc:
            self._fail(item.url, exc.message)
            return False
        except FetchError as exc:
            if exc.reason.startswith("not HTML"):
                self._skip(item.url, "non_html")
            else:
                self._fail(item.url, exc.reason, exc.status_code)
            return False
        return await self._accept(fetcher, item, response)

    def _in_scope(self, url: str) -> bool:
        return self.scope.contains(url)

    async def _accept(self, fetcher: Fetcher, item: _Item, response: Response) -> bool:
        final_key = self._key(response.final_url)
        if final_key != item.key:
            if final_key in self._done_keys:
                self._alias(item.key, final_key)
                self._skip(item.url, "duplicate")
                return False
            self._seen.add(final_key)
        self._done_keys.add(final_key)
        if response.status_code == 304 and item.key in self._previous:
            self._reuse(item, final_key, response)
            return False
        body: bytes | str = response.body
        if self._renderer is not None:
            text = decode_html(response.body, response.charset)
            body = await self._renderer.render(response.final_url, text)
        selector = self.options.content_selector
        job = PageJob(response.final_url, body, response.charset, selector, self._spool)
        response.body = b""  # the job holds it until a worker takes it
        await self._slots.acquire()
        task = asyncio.create_task(self._convert(fetcher, item, final_key, response, job))
        self._conversions.add(task)
        task.add_done_callback(self._conversions.discard)
        return True

    async def _convert(
        self, fetcher: Fetcher, item: _Item, final_key: str, response: Response, job: PageJob
    ) -> None:
        """Convert a fetched page in a worker, then take its links and content."""
        assert self._converter is not None
        try:
            try:
                try:
                    page = await self._converter.run(convert_page, job)
                finally:
                    self._slots.release()
                self._take(item, final_key, response, page)
            except Exception as exc:
                self._page_error(item, exc)
            finally:
                self._in_flight -= 1
            await self._page_done(fetcher, item)
        finally:
            self._queue.task_done()

    def _links(self, urls: list[str]) -> dict[str, str]:
        """The crawlable links by key, each as the first URL (without fragment) leading there."""
        links: dict[str, str] = {}
        for url in urls:
            key = self._crawlable(url)
            if key is not None and key not in links:
                links[key] = url.split("#", 1)[0]
        return links

    def _follow(self, links: dict[str, str], depth: int) -> None:
        for url in links.values():
            self._enqueue(url, depth)

    def _take(self, item: _Item, final_key: str, response: Response, page: ConvertedPage) -> None:
        links = self._links(page.links)
        if not page.nofollow:
            self._follow(links, item.depth + 1)
        canonical = page.canonical
        if canonical and self.scope.contains(canonical) and self._key(canonical) != final_key:
            canonical_key = self._key(canonical)
            if canonical_key in self._done_keys:
                self._alias(final_key, canonical_key)
                self._skip(item.url, "duplicate")
                return
            self._seen.add(canonical_key)
            self._done_keys.add(canonical_key)
            self._alias(canonical_key, final_key)
        if page.noindex:
            self._skip(item.url, "noindex")
            return
        if page.content_hash is None:
            self._skip(item.url, "no_content")
            return
        self._add_page(item, final_key, response, page, links)

    def _add_page(
        self,
        item: _Item,
        final_key: str,
        response: Response,
        converted: ConvertedPage,
        links: dict[str, str],
    ) -> None:
        digest = converted.content_hash
        assert digest is not None
        if digest in self._hashes:
            self._alias(final_key, self._hashes[digest])
            self._skip(item.url, "duplicate")
            return
        self._hashes[digest] = final_key
        previous = self._previous.get(item.key)
        change: ChangeStatus = "new"
        if previous is not None:
            change = "same" if previous.content_hash == digest else "changed"
        page = Page(
            url=item.url,
            final_url=response.final_url,
            title=converted.title or response.final_url,
            markdown=converted.markdown,
            depth=item.depth,
            links=list(links),
            content_hash=digest,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            crawled_at=datetime.now(UTC),
            change=change,
            spooled=converted.spooled,
        )
        if self.cache is not None:
            markdown = self._texts.markdown(page)
            body = CachedBody(
                links=list(links.values()), markdown=markdown, nofollow=converted.nofollow
            )
            self.cache.put(item.key, page, body)
        self._store(item.key, final_key, page)

    def _reuse(self, item: _Item, final_key: str, response: Response) -> None:
        assert self.cache is not None  # the previous entries come from it
        entry = self._previous[item.key]
        body = self.cache.read(entry)
        self._hashes[entry.content_hash] = final_key
        links = self._links(body.links)
        if not body.nofollow:
            self._follow(links, item.depth + 1)
        page = Page(
            url=item.url,
            final_url=entry.final_url,
            title=entry.title,
            markdown=body.markdown,
            depth=item.depth,
            links=list(links),
            content_hash=entry.content_hash,
            etag=response.headers.get("etag") or entry.etag,
            last_modified=response.headers.get("last-modified") or entry.last_modified,
            crawled_at=datetime.now(UTC),
            change="same",
        )
        self.cache.put(item.key, page, body)
        if self._spool is not None:
            page.markdown, page.spooled = "", append_text(self._spool, body.markdown)
        self._store(item.key, final_key, page)

    def _store(self, key: str, final_key: str, page: Page) -> None:
        self._pages[final_key] = page
        if key != final_key:
            self._alias(key, final_key)
        self.progress.pages_ok += 1
        self.progress.pages_done += 1

    def _alias(self, alias: str, target: str) -> None:
        if alias != target:
            self._aliases[alias] = target

    def _skip(self, url: str, reason: str) -> None:
        self._skipped.append(SkippedPage(url, reason))
        bucket = reason.split(" ", 1)[0]
        self.progress.skipped[bucket] = self.progress.skipped.get(bucket, 0) + 1
        self.progress.pages_skipped += 1
        self.progress.pages_done += 1

    def _fail(self, url: str, reason: str, status_code: int | None = None) -> None:
        self._failed.append(FailedPage(url, reason, status_code))
        self.progress.pages_failed += 1
        self.progress.pages_done += 1
        self.progress.last_error = f"{url}: {reason}"

    async def _report(self, current: str | None) -> None:
        if self._on_progress is None:
            return
        self.progress.current_url = current
        outcome = self._on_progress(self.progress)
        if inspect.isawaitable(outcome):
            await outcome

    def _result(self, duration: float) -> CrawlResult:
        start_key = self._aliases.get(self._key(self.start_url), self._key(self.start_url))
        pages = site_order(self._pages, start_key, self._aliases)
        complete = self._stop_reason is None
        present = set(self._pages) | set(self._aliases)
        removed = sorted(k for k in self._previous if k not in present) if complete else []
        if self.cache is not None:
            for key in removed:
                self.cache.entries.pop(key, None)
        return CrawlResult(
            start_url=self.start_url,
            pages=pages,
            failed=self._failed,
            skipped=self._skipped,
            aliases=dict(self._aliases),
            removed=removed,
            cancelled=self._stop_reason == "cancelled",
            stop_reason=self._stop_reason,
            progress=self.progress,
            duration_seconds=duration,
            spool=self._spool,
        )
