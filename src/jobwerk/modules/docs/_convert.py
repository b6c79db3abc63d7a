"""The CPU-bound work of a scrape, as picklable jobs for the conversion processes.

``convert_page`` turns one fetched page into links, metadata and Markdown (written to the spool
when there is one); ``render_sections`` renders a batch of pages' parts of the exports. Both are
pure apart from the spool files, and give the same result in a worker or in the crawling process.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._combine import (
    json_page_entry,
    link_resolver,
    markdown_renderer,
    markdown_section,
    page_markdown,
)
from ._extract import decode_html, extract_page
from ._markdown import html_to_markdown, strip_title_heading
from ._spool import SpoolReader, SpoolRef, append_text
from ._urls import normalize_url


@dataclass(frozen=True)
class PageJob:
    """One fetched page: its final URL and body (bytes, or text rendered by the browser)."""

    url: str
    body: bytes | str
    charset: str | None
    content_selector: str | None
    spool: str | None


@dataclass(frozen=True)
class ConvertedPage:
    """What the crawl needs of a page; ``content_hash`` is None when there is no content."""

    title: str
    links: list[str]
    canonical: str | None
    noindex: bool
    nofollow: bool
    markdown: str
    spooled: SpoolRef | None
    content_hash: str | None


def convert_page(job: PageJob) -> ConvertedPage:
    """Extract and convert one page; its Markdown goes to the spool if the job names one."""
    text = job.body if isinstance(job.body, str) else decode_html(job.body, job.charset)
    page = extract_page(text, job.url, content_selector=job.content_selector)
    markdown, spooled, digest = "", None, None
    if not page.noindex and page.content is not None:
        markdown = strip_title_heading(html_to_markdown(page.content), page.title)
        digest = hashlib.sha256(markdown.encode()).hexdigest()
        if job.spool is not None:
            markdown, spooled = "", append_text(job.spool, markdown)
    return ConvertedPage(
        title=page.title,
        links=page.links,
        canonical=page.canonical,
        noindex=page.noindex,
        nofollow=page.nofollow,
        markdown=markdown,
        spooled=spooled,
        content_hash=digest,
    )


@dataclass(frozen=True)
class LinkTables:
    """How links between pages are rewritten: page key → anchor, and → per-page file."""

    aliases: dict[str, str]
    anchors: dict[str, str]
    files: dict[str, str]
    keep_query: bool

    def save(self, path: Path) -> None:
        """Write the tables once for all workers (a batch then names only the file)."""
        path.write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))


@functools.lru_cache(maxsize=1)
def _resolvers(tables_path: str) -> tuple[Callable[[str], str | None], Callable[[str], str | None]]:
    """The two link resolvers of an export (loaded once per process and export)."""
    tables: LinkTables = pickle.loads(Path(tables_path).read_bytes())  # written by this export

    def key(url: str) -> str:
        return normalize_url(url, keep_query=tables.keep_query)

    return (
        link_resolver(tables.aliases, tables.anchors, key),
        link_resolver(tables.aliases, tables.files, key),
    )


@dataclass(frozen=True)
class SectionJob:
    """One page's export parts to render; ``json_meta`` is None when no JSON is written."""

    title: str
    final_url: str
    anchor: str
    markdown: str
    spooled: SpoolRef | None
    json_meta: Mapping[str, Any] | None


@dataclass(frozen=True)
class SectionBatch:
    """Pages in site order whose sections one worker renders."""

    spool: str | None
    tables_path: str
    html: bool
    page_files: bool
    pages: list[SectionJob]


@dataclass(frozen=True)
class Sections:
    """One page's part of each export ("" for the formats not written)."""

    markdown: str
    html: str
    json: str
    page_file: str


def render_sections(batch: SectionBatch) -> list[Sections]:
    """Render the combined-Markdown section, its HTML, the JSON entry and the page file."""
    to_anchor, to_file = _resolvers(batch.tables_path)
    renderer = markdown_renderer() if batch.html else None
    out: list[Sections] = []
    with SpoolReader(batch.spool or "") as spool:
        for job in batch.pages:
            body = job.markdown if job.spooled is None else spool.read(job.spooled)
            section = markdown_section(job.title, job.final_url, job.anchor, body, to_anchor)
            out.append(
                Sections(
                    markdown=section,
                    # Sections start after a blank line with a thematic break and leave no
                    # block open, so rendering them apart equals rendering the whole document.
                    html=str(renderer.render(section + "\n")) if renderer else "",
                    json=json_page_entry(job.json_meta, body) if job.json_meta else "",
                    page_file=page_markdown(job.title, job.final_url, body, to_file)
                    if batch.page_files
                    else "",
                )
            )
    return out


def render_html(markdown: str) -> str:
    """Markdown as HTML, with the exports' renderer."""
    return str(markdown_renderer().render(markdown))


def warm_up() -> int:
    """A no-op a new worker runs first (so it is forked and ready before pages arrive)."""
    return 0
