"""URL identity and crawl scope: pure functions, no I/O."""

from __future__ import annotations

import fnmatch
import functools
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import (
    parse_qsl,
    quote,
    unquote,
    urlencode,
    urljoin,
    urlparse,
    urlsplit,
    urlunsplit,
)

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
        joined = join_path(base, href) if _PLAIN_PATH.fullmatch(href) else None
        if joined is not None:
            return joined
        joined = urljoin(base, href)
    except ValueError:
        return None
    return joined if urlsplit(joined).scheme in ("http", "https") else None


# A relative reference that is only a path: no scheme, query, fragment, parameters, nothing
# urlsplit strips or deletes, not "//host". Navigation links are mostly such paths.
_PLAIN_PATH = re.compile(r"(?!//)[^\x00-\x20:?#;\x7f][^:?#;\t\r\n]*")


@functools.lru_cache(maxsize=64)
def _base_directory(base: str) -> tuple[str, list[str]] | None:
    """``scheme://netloc`` and the directory segments of a base, as urljoin splits it."""
    parts = urlparse(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    segments = parts.path.split("/")
    if segments[-1] != "":
        del segments[-1]
    return f"{parts.scheme}://{parts.netloc}", segments


def join_path(base: str, path: str) -> str | None:
    """``urljoin(base, path)`` for a plain relative path (``_PLAIN_PATH``), parsing the base once.

    The same steps as ``urllib.parse.urljoin``: merge with the base's directory, drop empty
    segments, resolve "." and "..". None (use urljoin) unless the base is http(s) with a host.

    Raises:
        ValueError: the base is not a valid URL (as urljoin would).
    """
    parsed = _base_directory(base)
    if parsed is None:
        return None
    prefix, directory = parsed
    if path.startswith("/"):
        segments = path.split("/")
    else:
        segments = directory + path.split("/")
        segments[1:-1] = filter(None, segments[1:-1])
    resolved: list[str] = []
    for segment in segments:
        if segment == "..":
            if resolved:
                resolved.pop()
        elif segment != ".":
            resolved.append(segment)
    if segments[-1] in (".", ".."):
        resolved.append("")
    joined = "/".join(resolved) or "/"
    return prefix + (joined if joined.startswith("/") else "/" + joined)


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
