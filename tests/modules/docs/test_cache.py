"""The re-crawl cache file: round trip, damaged files, and saves that fail part-way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

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


def saved_cache(path: Path) -> None:
    with CrawlCache() as cache:
        cache.put("one", page("one"), "# One\n\nBody with ümlauts.")
        cache.put("two", page("two"), "Two")
        cache.save(path)


def test_saved_cache_reads_back_each_page(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    saved_cache(path)
    with CrawlCache.load(path) as cache:
        assert list(cache.entries) == ["one", "two"]
        assert cache.entries["one"].title == "one"
        assert cache.conditional_headers("two") == {"If-None-Match": '"two"'}
        assert cache.read(cache.entries["one"]) == (
            page("one").links,
            "# One\n\nBody with ümlauts.",
        )
        cache.put("three", page("three"), "Three")
        cache.save(path)
        assert cache.read(cache.entries["two"])[1] == "Two"
    with CrawlCache.load(path) as cache:
        assert [cache.read(entry)[1] for entry in cache.entries.values()] == [
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
        cache.put("three", page("three"), "Three")

        def disk_full(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("os.fsync", disk_full)
        with pytest.raises(OSError, match="No space"):
            cache.save(path)
        assert cache.read(cache.entries["one"])[1] == "# One\n\nBody with ümlauts."
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]
