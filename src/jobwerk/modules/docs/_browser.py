"""Headless Chromium (Debian's system build) through Playwright: JS rendering and PDF printing.

Every browser request goes through a route handler: the page document is served from what the
crawler already fetched, other requests must pass the SSRF guard, heavy media is blocked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ._ssrf import SSRFGuard, UnsafeTarget

if TYPE_CHECKING:
    from playwright.async_api import Browser, Route

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
_BLOCKED_TYPES = frozenset({"image", "media", "font", "stylesheet"})


@asynccontextmanager
async def chromium(executable_path: str) -> AsyncIterator[Browser]:
    """Launch the system Chromium (never a downloaded build)."""
    # Imported here: Playwright weighs 20 MB, and most scrapes (and every conversion
    # process, which imports the scraper) never start a browser.
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable_path, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


class Renderer:
    """Renders fetched pages with JavaScript in one isolated browser context."""

    def __init__(self, browser: Browser, guard: SSRFGuard, timeout: float) -> None:
        self._browser = browser
        self._guard = guard
        self._timeout_ms = timeout * 1000

    async def render(self, url: str, document: str) -> str:
        """Run the page's scripts on ``document`` (served as ``url``) and return the DOM HTML."""
        context = await self._browser.new_context(java_script_enabled=True)
        try:
            page = await context.new_page()

            async def handle(route: Route) -> None:
                request = route.request
                if request.url.split("#")[0] == url and request.resource_type == "document":
                    await route.fulfill(status=200, body=document, content_type="text/html")
                    return
                await guarded_continue(route, self._guard, block_media=True)

            await page.route("**/*", handle)
            await page.goto(url, wait_until="load", timeout=self._timeout_ms)
            await page.wait_for_timeout(200)
            return await page.content()
        finally:
            await context.close()


async def guarded_continue(route: Route, guard: SSRFGuard, *, block_media: bool) -> None:
    """Let a browser request through only if the SSRF guard admits its target."""
    request = route.request
    scheme = urlsplit(request.url).scheme
    if scheme == "data":
        await route.continue_()
        return
    if block_media and request.resource_type in _BLOCKED_TYPES:
        await route.abort()
        return
    try:
        await guard.resolve(request.url)
    except UnsafeTarget:
        await route.abort("blockedbyclient")
        return
    await route.continue_()


async def print_pdf(executable_path: str, document: str, guard: SSRFGuard) -> bytes:
    """Print an HTML document to A4 PDF; its images load only from guard-admitted hosts."""
    async with chromium(executable_path) as browser:
        context = await browser.new_context(java_script_enabled=False)
        try:
            page = await context.new_page()

            async def handle(route: Route) -> None:
                await guarded_continue(route, guard, block_media=False)

            await page.route("**/*", handle)
            await page.set_content(document, wait_until="load")
            return await page.pdf(
                format="A4",
                print_background=True,
                margin={"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=(
                    '<div style="font-size:8px;width:100%;text-align:center">'
                    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
                ),
            )
        finally:
            await context.close()
