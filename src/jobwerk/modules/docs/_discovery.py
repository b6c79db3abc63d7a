"""robots.txt (RFC 9309 semantics via Protego) and sitemap discovery."""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import etree
from protego import Protego

from ._fetch import Fetcher, FetchError, OutOfScopeRedirect, UnsafeTarget
from ._models import ROBOTS_TOKEN
from ._urls import origin

_ROBOTS_MAX_BYTES = 512 * 1024
_SITEMAP_MAX_BYTES = 50 * 1024 * 1024
_ALLOW_ALL = Protego.parse("")
_DISALLOW_ALL = Protego.parse("User-agent: *\nDisallow: /\n")


@dataclass
class Robots:
    """The robots.txt rules of one origin; ``unreachable`` means "assume complete disallow"."""

    rules: Protego
    unreachable: bool = False
    sitemaps: list[str] = field(default_factory=list)

    def allows(self, url: str) -> bool:
        """Whether the crawler's product token may fetch ``url``."""
        return bool(self.rules.can_fetch(url, ROBOTS_TOKEN))

    def crawl_delay(self) -> float | None:
        """The ``Crawl-delay`` for our token, if any."""
        delay = self.rules.crawl_delay(ROBOTS_TOKEN)
        return float(delay) if delay is not None else None


async def fetch_robots(fetcher: Fetcher, url: str) -> Robots:
    """Fetch and parse ``/robots.txt`` of ``url``'s origin.

    RFC 9309: a 4xx answer allows everything; a 5xx or network error disallows everything.
    """
    base = _origin_url(url)
    try:
        response = await fetcher.get(
            base + "/robots.txt", accept=None, max_bytes=_ROBOTS_MAX_BYTES * 4
        )
    except (OutOfScopeRedirect, UnsafeTarget):
        return Robots(_ALLOW_ALL)
    except FetchError as exc:
        if exc.status_code is not None and 400 <= exc.status_code < 500:
            return Robots(_ALLOW_ALL)
        return Robots(_DISALLOW_ALL, unreachable=True)
    text = response.body[:_ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
    rules = Protego.parse(text)
    return Robots(rules, sitemaps=[str(s) for s in rules.sitemaps])


def parse_sitemap(data: bytes, max_urls: int) -> tuple[list[str], list[str]]:
    """Parse a (possibly gzipped) sitemap or sitemap index.

    Returns:
        ``(page_urls, nested_sitemap_urls)``, at most ``max_urls`` page URLs.
    """
    data = _gunzip(data)
    pages: list[str] = []
    nested: list[str] = []
    try:
        context = etree.iterparse(
            io.BytesIO(data),
            events=("end",),
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            recover=True,
        )
        for _, element in context:
            if not isinstance(element.tag, str) or etree.QName(element).localname != "loc":
                continue
            parent = element.getparent()
            in_index = parent is not None and etree.QName(parent).localname == "sitemap"
            if element.text:
                (nested if in_index else pages).append(element.text.strip())
            if parent is not None:
                parent.clear()
            if len(pages) >= max_urls:
                break
    except etree.XMLSyntaxError:
        return pages, nested
    return pages, nested


def _gunzip(data: bytes) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, _SITEMAP_MAX_BYTES)
    except (zlib.error, gzip.BadGzipFile):
        return b""
    return out


async def discover_sitemap_urls(
    fetcher: Fetcher, start_url: str, robots: Robots | None
) -> list[str]:
    """Page URLs from robots ``Sitemap:`` lines, ``/sitemap.xml`` and ``/sitemap_index.xml``."""
    base = _origin_url(start_url)
    queue = [urljoin(base + "/", s) for s in (robots.sitemaps if robots else [])]
    queue += [base + "/sitemap.xml", base + "/sitemap_index.xml"]
    seen: set[str] = set()
    pages: list[str] = []
    limit = fetcher.settings.max_sitemap_urls
    while queue and len(seen) < fetcher.settings.max_sitemaps and len(pages) < limit:
        sitemap = queue.pop(0)
        if sitemap in seen:
            continue
        seen.add(sitemap)
        try:
            response = await fetcher.get(sitemap, accept=None, max_bytes=_SITEMAP_MAX_BYTES)
        except (FetchError, OutOfScopeRedirect, UnsafeTarget):
            continue
        found, nested = parse_sitemap(response.body, limit - len(pages))
        pages.extend(found)
        queue.extend(n for n in nested if n not in seen)
    return list(dict.fromkeys(pages))


def _origin_url(url: str) -> str:
    scheme, _, rest = origin(url).partition("://")
    host, _, port = rest.rpartition(":")
    default = (scheme == "http" and port == "80") or (scheme == "https" and port == "443")
    return f"{scheme}://{host}" if default else f"{scheme}://{host}:{port}"
