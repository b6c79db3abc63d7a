"""Re-crawl cache: validators and extracted content per page, kept on disk between runs.

A cache file is JSON Lines: a format line, one index line per page (its validators, title, hash
and where its record lies), an empty line, then the records (links and Markdown), one per line.
Loading reads the index only; a page's record is read when the crawl reuses the page.

Caches of earlier versions kept each link's key instead of the link, so a re-crawl would request
URLs no page links (``/guide`` for ``/guide/index.html``, which some hosts answer 404). Loading
one keeps its pages' hashes, so changes are still reported, but not their validators: the first
crawl with it fetches every page again and stores the links as the pages have them.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, Field, TypeAdapter

from ._models import Page

_FORMAT = b'{"format": "jobwerk-crawl-cache", "version": 3}\n'
_KEYED_LINKS = b'{"format": "jobwerk-crawl-cache", "version": 2}\n'


class CacheEntry(BaseModel):
    """What a previous run learned about one page; its links and Markdown stay on disk."""

    final_url: str
    title: str
    content_hash: str
    depth: int = 0
    etag: str | None = None
    last_modified: str | None = None
    crawled_at: datetime | None = None
    offset: int  # of the page's record: from the first record, or in the scratch file
    length: int
    pending: bool = Field(default=False, exclude=True)  # stored since the last load or save


_INDEX_LINE = TypeAdapter(tuple[str, CacheEntry])


class CachedBody(BaseModel):
    """What a reused page needs besides its index entry."""

    links: list[str]  # in scope, as the page had them: one per page they lead to
    markdown: str
    nofollow: bool = False


class _LegacyEntry(BaseModel):
    """An entry of the single-JSON cache file written by earlier versions."""

    links: list[str]
    markdown: str
    url: str
    final_url: str
    title: str
    content_hash: str
    depth: int = 0
    etag: str | None = None
    last_modified: str | None = None
    crawled_at: datetime | None = None


class _LegacyCache(BaseModel):
    entries: dict[str, _LegacyEntry]


class CrawlCache:
    """Page entries keyed by canonical URL; pass the same object (or file) to the next run.

    The entries stay in memory, their records on disk: in the loaded (or last saved) file, or in
    a scratch file for pages stored since. Close the cache after use (it is a context manager).
    """

    def __init__(self) -> None:
        self.entries: dict[str, CacheEntry] = {}
        self._file: BinaryIO | None = None
        self._records_start = 0
        self._scratch: BinaryIO | None = None

    @classmethod
    def load(cls, path: Path) -> CrawlCache:
        """Read a cache file's index; a missing or unreadable file gives an empty cache.

        A cache of an earlier version loses its validators (see above). One in the single-JSON
        format is read whole and migrated: its records go to the scratch file, and ``save``
        writes the current format.
        """
        cache = cls()
        try:
            handle = path.open("rb")
        except OSError:
            return cache
        try:
            start = handle.read(len(_FORMAT))
            if start in (_FORMAT, _KEYED_LINKS):
                cache.entries, cache._records_start = _read_index(handle)
                cache._file = handle
                if start == _KEYED_LINKS:
                    for stale in cache.entries.values():
                        stale.etag = stale.last_modified = None
                return cache
            handle.seek(0)
            legacy = _LegacyCache.model_validate_json(handle.read())
            handle.close()
            for key, entry in legacy.entries.items():
                page = Page(**entry.model_dump(exclude={"etag", "last_modified"}))
                cache.put(key, page, CachedBody(links=entry.links, markdown=entry.markdown))
        except (OSError, ValueError):
            handle.close()
            cache.close()
            return cls()
        return cache

    def save(self, path: Path) -> None:
        """Write the cache atomically (temporary file + rename); it then reads from that file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        saved: dict[str, CacheEntry] = {}
        offset = 0
        for key, entry in self.entries.items():
            saved[key] = entry.model_copy(update={"offset": offset, "pending": False})
            offset += entry.length
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cache-", suffix=".json")
        out = os.fdopen(fd, "w+b")
        try:
            out.write(_FORMAT)
            out.writelines(_INDEX_LINE.dump_json(item) + b"\n" for item in saved.items())
            out.write(b"\n")
            records_start = out.tell()
            for entry in self.entries.values():
                out.write(self._record(entry))
            out.flush()
            os.fsync(out.fileno())
            Path(tmp).replace(path)
        except BaseException:
            out.close()
            Path(tmp).unlink(missing_ok=True)
            raise
        self.close()
        # The written file stays open: a later save by another run may replace ``path``.
        self.entries, self._file, self._records_start = saved, out, records_start

    def put(self, key: str, page: Page, body: CachedBody) -> None:
        """Store a crawled page (its Markdown is in ``body``: the page may hold it spooled)."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        data = body.model_dump_json().encode() + b"\n"
        offset = self._scratch.seek(0, os.SEEK_END)
        self._scratch.write(data)
        self.entries[key] = CacheEntry(
            final_url=page.final_url,
            title=page.title,
            content_hash=page.content_hash,
            depth=page.depth,
            etag=page.etag,
            last_modified=page.last_modified,
            crawled_at=page.crawled_at,
            offset=offset,
            length=len(data),
            pending=True,
        )

    def read(self, entry: CacheEntry) -> CachedBody:
        """The links and Markdown of a cached page."""
        return CachedBody.model_validate_json(self._record(entry))

    def conditional_headers(self, key: str) -> dict[str, str]:
        """``If-None-Match`` / ``If-Modified-Since`` for a page (raw stored header values)."""
        entry = self.entries.get(key)
        if entry is None:
            return {}
        if entry.etag:
            return {"If-None-Match": entry.etag}
        if entry.last_modified:
            return {"If-Modified-Since": entry.last_modified}
        return {}

    def close(self) -> None:
        """Close the cache's files; the entries can no longer be read."""
        for handle in (self._file, self._scratch):
            if handle is not None:
                handle.close()
        self._file = self._scratch = None

    def __enter__(self) -> CrawlCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _record(self, entry: CacheEntry) -> bytes:
        handle = self._scratch if entry.pending else self._file
        if handle is None:
            raise ValueError("the crawl cache is closed")
        handle.seek(entry.offset + (0 if entry.pending else self._records_start))
        return handle.read(entry.length)


def _read_index(handle: BinaryIO) -> tuple[dict[str, CacheEntry], int]:
    """The entries after the format line, and where the records start."""
    entries: dict[str, CacheEntry] = {}
    for line in iter(handle.readline, b"\n"):
        if not line:
            raise ValueError("the cache index is truncated")
        key, entry = _INDEX_LINE.validate_json(line)
        entries[key] = entry
    start = handle.tell()
    size = os.fstat(handle.fileno()).st_size
    if any(start + entry.offset + entry.length > size for entry in entries.values()):
        raise ValueError("the cache records are truncated")
    return entries, start
