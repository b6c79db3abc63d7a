"""The re-crawl cache file: round trip, damaged files, and saves that fail part-way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobwerk.modules.docs._cache import CachedBody
from jobwerk.modules.docs.scraper import CrawlCache, Page


def page(title: str) -> Page:
    return Page(
        url=f"https://docs.example/{title}",
        final_url=f"https://docs.example/{title}/",
        title=title,
        markdown="",
        depth=1,
        links=["https://docs.example/a", "https://docs.example/b"],
        content_hash=f"hash-{title}",
        etag=f'"{title}"',
        crawled_at=datetime(2026, 1, 2, tzinfo=UTC),
    )


def body(markdown: str) -> CachedBody:
    return CachedBody(links=["https://docs.example/a/index.html"], markdown=markdown)


def saved_cache(path: Path) -> None:
    with CrawlCache() as cache:
        cache.put("one", page("one"), body("# One\n\nBody with ümlauts."))
        cache.put("two", page("two"), body("Two"))
        cache.save(path)


def test_saved_cache_reads_back_each_page(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    saved_cache(path)
    with CrawlCache.load(path) as cache:
        assert list(cache.entries) == ["one", "two"]
        assert cache.entries["one"].title == "one"
        assert cache.conditional_headers("two") == {"If-None-Match": '"two"'}
        assert cache.read(cache.entries["one"]) == body("# One\n\nBody with ümlauts.")
        cache.put("three", page("three"), body("Three"))
        cache.save(path)
        assert cache.read(cache.entries["two"]).markdown == "Two"
    with CrawlCache.load(path) as cache:
        assert [cache.read(entry).markdown for entry in cache.entries.values()] == [
            "# One\n\nBody with ümlauts.",
            "Two",
            "Three",
        ]


@pytest.mark.parametrize("keep", [-5, 60, 1], ids=["records cut", "index cut", "not a cache"])
def test_damaged_or_missing_file_gives_an_empty_cache(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "cache.json"
    saved_cache(path)
    path.write_bytes(path.read_bytes()[:keep])
    with CrawlCache.load(path) as cache:
        assert cache.entries == {}
    with CrawlCache.load(tmp_path / "missing.json") as cache:
        assert cache.entries == {}


def test_failed_save_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cache.json"
    saved_cache(path)
    before = path.read_bytes()
    with CrawlCache.load(path) as cache:
        cache.put("three", page("three"), body("Three"))

        def disk_full(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("os.fsync", disk_full)
        with pytest.raises(OSError, match="No space"):
            cache.save(path)
        assert cache.read(cache.entries["one"]).markdown == "# One\n\nBody with ümlauts."
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]


def test_a_cache_that_kept_link_keys_is_read_without_its_validators(tmp_path: Path) -> None:
    # Version 2 kept each link's key (``/a`` for ``/a/index.html``): a page reused from it would
    # send the crawl to URLs no page links. Its pages are fetched again, their hashes kept.
    path = tmp_path / "cache.json"
    saved_cache(path)
    _, rest = path.read_bytes().split(b"\n", 1)
    path.write_bytes(b'{"format": "jobwerk-crawl-cache", "version": 2}\n' + rest)
    with CrawlCache.load(path) as cache:
        assert list(cache.entries) == ["one", "two"]
        assert cache.entries["one"].content_hash == "hash-one"
        assert cache.conditional_headers("one") == cache.conditional_headers("two") == {}
