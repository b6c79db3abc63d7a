"""Re-crawl cache: validators and extracted content per page, persisted by the caller as JSON."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field


class CacheEntry(BaseModel):
    """What a previous run learned about one page."""

    url: str
    final_url: str
    title: str
    markdown: str
    links: list[str]
    content_hash: str
    depth: int = 0
    etag: str | None = None
    last_modified: str | None = None
    crawled_at: datetime | None = None


class CrawlCache(BaseModel):
    """Page entries keyed by canonical URL; pass the same object (or file) to the next run."""

    version: int = 1
    entries: dict[str, CacheEntry] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> CrawlCache:
        """Read a cache file; a missing or unreadable file gives an empty cache."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            return cls()

    def save(self, path: Path) -> None:
        """Write the cache atomically (temporary file + rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cache-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.model_dump_json())
        Path(tmp).replace(path)

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
