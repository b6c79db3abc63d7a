"""URL identity and crawl scope: pure functions, no I/O."""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_INDEX_FILES = ("index.html", "index.htm")
_TRACKING_PREFIXES = ("utm_", "sid", "sessionid", "phpsessid", "fbclid", "gclid", "ref")
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_BINARY_EXTENSIONS = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".ico",
        ".bmp",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".tar",
        ".whl",
        ".exe",
        ".dmg",
        ".mp4",
        ".mp3",
        ".webm",
        ".woff",
        ".woff2",
        ".ttf",
        ".eot",
        ".css",
        ".js",
        ".map",
        ".json",
        ".xml",
        ".txt",
        ".csv",
        ".epub",
    ]
)


def origin(url: str) -> str:
    """``scheme://host:port`` with the port always explicit (the robots.txt and auth unit)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def normalize_url(url: str, *, keep_query: bool = False) -> str:
    """The canonical identity of a page URL used for de-duplication.

    Lower-cases scheme and host, drops default ports, fragments, ``index.html`` and trailing
    slashes, normalises percent-encoding and dot segments, and drops (or sorts, without tracking
    parameters) the query.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{parts.port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE) or "/"
    path = posixpath.normpath(path) + ("/" if path.endswith("/") and path != "/" else "")
    path = path.replace("//", "/")
    for index in _INDEX_FILES:
        if path.endswith("/" + index):
            path = path[: -len(index)]
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = ""
    if keep_query and parts.query:
        pairs = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING_PREFIXES)
        ]
        query = urlencode(sorted(pairs))
    return urlunsplit((scheme, netloc, path, query, ""))


def absolute_url(base: str, href: str) -> str | None:
    """Resolve ``href`` against ``base``; ``None`` for non-HTTP links (mailto:, javascript:…)."""
    href = href.strip()
    if not href or href.startswith(("mailto:", "javascript:", "tel:", "data:")):
        return None
    if href.startswith(("http://", "https://")) and "/." not in href:
        return href
    try:
        joined = urljoin(base, href)
    except ValueError:
        return None
    return joined if urlsplit(joined).scheme in ("http", "https") else None


def default_prefix(url: str) -> str:
    """The path prefix a crawl starting at ``url`` stays under (its directory)."""
    path = urlsplit(url).path or "/"
    return path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"


def looks_binary(url: str) -> bool:
    """Whether the URL's extension says it is not an HTML page."""
    _, ext = posixpath.splitext(urlsplit(url).path.lower())
    return ext in _BINARY_EXTENSIONS


@dataclass(frozen=True)
class Scope:
    """Which URLs a crawl may visit: same origin, under a path prefix, include/exclude globs."""

    origin: str
    prefix: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def for_start(
        cls,
        start_url: str,
        prefix: str | None = None,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
    ) -> Scope:
        """The scope of a crawl starting at ``start_url``."""
        chosen = prefix or default_prefix(start_url)
        if not chosen.startswith("/"):
            chosen = "/" + chosen
        return cls(origin(start_url), chosen, tuple(include or ()), tuple(exclude or ()))

    def contains(self, url: str) -> bool:
        """Whether ``url`` is inside this scope."""
        if origin(url) != self.origin:
            return False
        path = urlsplit(url).path or "/"
        bare_prefix = self.prefix.rstrip("/")
        if not (path.startswith(self.prefix) or path == bare_prefix or self.prefix == "/"):
            return False
        if self.include and not any(_matches(p, url, path) for p in self.include):
            return False
        return not any(_matches(p, url, path) for p in self.exclude)


def _matches(pattern: str, url: str, path: str) -> bool:
    target = url if pattern.startswith(("http://", "https://")) else path
    return fnmatch.fnmatchcase(target, pattern)
