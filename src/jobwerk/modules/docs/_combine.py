"""Combined documents from crawled pages: pure functions (Markdown, JSON, HTML), no I/O.

Each document is a header plus one section per page, so the exports can render the sections
in worker processes and write them one after another; ``combined_markdown`` and
``combined_json`` join the same pieces in memory.
"""

from __future__ import annotations

import html
import json
import re
import string
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from markdown_it import MarkdownIt

from ._models import CrawlResult, FailedPage, Page, SkippedPage

# Each matches within one line of a multi-line text (``[^\S\n]`` is whitespace but a newline).
_LINK = re.compile(r"\]\((<[^>\n]*>|[^)\s]+)((?:[^\S\n]+\"[^\"\n]*\")?)\)")
_HEADING = re.compile(r"^(#{1,6}) ", re.M)
_FENCE = re.compile(r"^[^\S\n]*(`{3,}|~{3,})", re.M)
_INLINE_ESCAPE = re.compile(r"([\\`*_\[\]<])")
_SPACES = re.compile(r"\s+")
_BODY = "\x00body\x00"  # where the rendered Markdown goes in the HTML template
JSON_PAGES = '"pages": []'  # where the page entries go in the JSON document


def slugify(text: str, limit: int = 60) -> str:
    """A lower-case ASCII slug safe for file names and anchors."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "page"


def page_anchors(pages: list[Page]) -> list[str]:
    """Unique anchor ids per page (site order), e.g. ``p003-installation``."""
    return [f"p{i:03d}-{slugify(p.title, 40)}" for i, p in enumerate(pages, 1)]


def page_file_names(pages: list[Page]) -> list[str]:
    """File names of the per-page Markdown files (site order), e.g. ``003-installation.md``."""
    return [f"{i:03d}-{slugify(p.title, 50)}.md" for i, p in enumerate(pages, 1)]


def map_outside_code(markdown: str, transform: Callable[[str], str]) -> str:
    """Apply ``transform`` to the text outside fenced code blocks, a run of whole lines at once.

    A fence opens on a line starting with three or more backticks or tildes and closes on a
    line of only the same character, at least as many; the fence lines count as code.
    """
    out: list[str] = []
    start = 0  # of the text not yet written: outside code, or the open block's fence line
    fence: str | None = None
    for match in _FENCE.finditer(markdown):
        marker = match.group(1)
        if fence is None:
            out.append(transform(markdown[start : match.start()]))
            fence, start = marker, match.start()
            continue
        end = markdown.find("\n", match.end())
        end = len(markdown) if end < 0 else end
        closes = markdown[match.start() : end].strip() == marker and marker[0] == fence[0]
        if closes and len(marker) >= len(fence):
            out.append(markdown[start:end])
            fence, start = None, end
    rest = markdown[start:]
    out.append(rest if fence is not None else transform(rest))
    return "".join(out)


def _link_rewriter(resolve: Callable[[str], str | None]) -> Callable[[str], str]:
    def one(match: re.Match[str]) -> str:
        target = match.group(1).strip("<>")
        new = resolve(target)
        return match.group(0) if new is None else f"]({new}{match.group(2)})"

    def text(lines: str) -> str:
        return _LINK.sub(one, lines) if "](" in lines else lines

    return text


def _demote(match: re.Match[str]) -> str:
    return "#" * min(6, len(match.group(1)) + 1) + " "


def rewrite_links(markdown: str, resolve: Callable[[str], str | None]) -> str:
    """Replace link targets for which ``resolve`` returns a new target (outside code)."""
    return map_outside_code(markdown, _link_rewriter(resolve))


def link_resolver(
    aliases: Mapping[str, str], targets: Mapping[str, str], key: Callable[[str], str]
) -> Callable[[str], str | None]:
    """Map in-scope page URLs (and their aliases) to ``targets`` (anchors or file names)."""
    keys: dict[str, str] = {}

    def resolve(url: str) -> str | None:
        if not url.startswith(("http://", "https://")):
            return None
        page = url.split("#", 1)[0]
        canonical = keys.get(page)
        if canonical is None:
            canonical = keys[page] = key(page)
        return targets.get(aliases.get(canonical, canonical))

    return resolve


def anchor_targets(pages: list[Page], key: Callable[[str], str]) -> dict[str, str]:
    """Page key → ``#anchor`` in the combined document."""
    return {key(p.final_url): f"#{a}" for p, a in zip(pages, page_anchors(pages), strict=True)}


def file_targets(pages: list[Page], key: Callable[[str], str]) -> dict[str, str]:
    """Page key → per-page file name."""
    return {key(p.final_url): n for p, n in zip(pages, page_file_names(pages), strict=True)}


def markdown_header(crawl: CrawlResult, title: str, generated_at: datetime) -> str:
    """The combined Markdown up to the first page: title, source, contents."""
    anchors = page_anchors(crawl.pages)
    contents = "\n".join(
        f"- [{_inline(p.title)}](#{a})" for p, a in zip(crawl.pages, anchors, strict=True)
    )
    return "\n\n".join(
        [
            f"# {title}",
            f"Source: <{crawl.start_url}> · {len(crawl.pages)} pages · "
            f"generated {generated_at.strftime('%Y-%m-%d %H:%M UTC')}",
            '<a id="contents"></a>\n\n## Contents',
            contents,
        ]
    )


def markdown_section(
    title: str, final_url: str, anchor: str, body: str, resolve: Callable[[str], str | None]
) -> str:
    """One page of the combined Markdown: separator, anchored heading, source, body."""
    shifted = map_outside_code(body, _section_text(resolve)).strip()
    parts = ["---", f'<a id="{anchor}"></a>\n\n## {_inline(title)}', f"Source: <{final_url}>"]
    if shifted:
        parts.append(shifted)
    return "\n\n".join(parts)


def _section_text(resolve: Callable[[str], str | None]) -> Callable[[str], str]:
    """Links rewritten and headings demoted (both outside code, so one pass does both)."""
    rewrite = _link_rewriter(resolve)
    return lambda text: _HEADING.sub(_demote, rewrite(text))


def combined_markdown(
    crawl: CrawlResult, title: str, key: Callable[[str], str], generated_at: datetime
) -> str:
    """One Markdown document: title, contents, then every page with its source URL."""
    resolve = link_resolver(crawl.aliases, anchor_targets(crawl.pages, key), key)
    parts = [markdown_header(crawl, title, generated_at)]
    with crawl.open_spool() as texts:
        for page, anchor in zip(crawl.pages, page_anchors(crawl.pages), strict=True):
            body = texts.markdown(page)
            parts.append(markdown_section(page.title, page.final_url, anchor, body, resolve))
    return "\n\n".join(parts) + "\n"


def page_markdown(
    title: str, final_url: str, body: str, resolve: Callable[[str], str | None]
) -> str:
    """A stand-alone Markdown file for one page, links to other pages made relative."""
    text = rewrite_links(body, resolve).strip()
    return f"# {_inline(title)}\n\nSource: <{final_url}>\n\n{text}\n"


def json_frame(crawl: CrawlResult, title: str, generated_at: datetime) -> str:
    """The JSON document without its page entries (they go where ``JSON_PAGES`` stands)."""
    payload: dict[str, Any] = {
        "title": title,
        "source": crawl.start_url,
        "generated_at": generated_at.isoformat(),
        "complete": crawl.stop_reason is None,
        "stop_reason": crawl.stop_reason,
        "pages": [],
        "failed": [_record(f) for f in crawl.failed],
        "skipped": [_record(s) for s in crawl.skipped],
        "removed": crawl.removed,
        "stats": {
            "pages_ok": crawl.progress.pages_ok,
            "pages_failed": crawl.progress.pages_failed,
            "pages_skipped": crawl.progress.skipped,
            "bytes": crawl.progress.bytes_fetched,
            "duration_seconds": round(crawl.duration_seconds, 3),
        },
    }
    return json.dumps(payload, ensure_ascii=False, indent=2)


def _record(page: FailedPage | SkippedPage) -> dict[str, Any]:
    return dict(vars(page))


def json_page_meta(page: Page, anchor: str) -> dict[str, Any]:
    """A page's JSON entry without its Markdown."""
    return {
        "url": page.url,
        "final_url": page.final_url,
        "title": page.title,
        "anchor": anchor,
        "depth": page.depth,
        "hash": page.content_hash,
        "etag": page.etag,
        "last_modified": page.last_modified,
        "crawled_at": page.crawled_at.isoformat() if page.crawled_at else None,
        "change": page.change,
    }


def json_page_entry(meta: Mapping[str, Any], markdown: str) -> str:
    """A page entry as it stands in the ``pages`` list of the JSON document (indent 4)."""
    entry = json.dumps({**meta, "markdown": markdown}, ensure_ascii=False, indent=2)
    return entry.replace("\n", "\n    ")  # JSON strings hold no raw newline


def json_pages(entries: Iterator[str]) -> Iterator[str]:
    """The ``pages`` list of the JSON document, piece by piece, from its entries."""
    yield "["
    empty = True
    for entry in entries:
        yield ("\n    " if empty else ",\n    ") + entry
        empty = False
    yield "]" if empty else "\n  ]"


def combined_json(crawl: CrawlResult, title: str, generated_at: datetime) -> str:
    """The crawl as JSON: pages in site order with Markdown and validators, failures, stats."""
    head, tail = json_frame(crawl, title, generated_at).split(JSON_PAGES, 1)
    with crawl.open_spool() as texts:
        entries = (
            json_page_entry(json_page_meta(page, anchor), texts.markdown(page))
            for page, anchor in zip(crawl.pages, page_anchors(crawl.pages), strict=True)
        )
        pages = "".join(json_pages(entries))
    return f'{head}"pages": {pages}{tail}'


def markdown_renderer() -> MarkdownIt:
    """The Markdown → HTML renderer of the HTML and PDF exports."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def html_frame(title: str) -> tuple[str, str]:
    """The HTML template before and after the rendered body."""
    template = resources.files(__package__).joinpath("_template.html").read_text("utf-8")
    page = string.Template(template).substitute(title=html.escape(title), body=_BODY)
    head, tail = page.split(_BODY)
    return head, tail


def markdown_to_html(markdown: str, title: str) -> str:
    """Render the combined Markdown as a stand-alone HTML document (also the PDF's input)."""
    head, tail = html_frame(title)
    return head + str(markdown_renderer().render(markdown)) + tail


def now_utc() -> datetime:
    """The export timestamp."""
    return datetime.now(UTC)


def _inline(text: str) -> str:
    return _INLINE_ESCAPE.sub(r"\\\1", _SPACES.sub(" ", text)).strip()


def site_order(pages: dict[str, Page], start_key: str, aliases: dict[str, str]) -> list[Page]:
    """Pages in site order: depth-first along each page's links (navigation order) from the start.

    Pages not reachable that way (sitemap-only) follow in their discovery order.
    """
    ordered: list[Page] = []
    visited: set[str] = set()
    stack = [start_key]
    while stack:
        raw = stack.pop()
        key = aliases.get(raw, raw)
        if key in visited or key not in pages:
            continue
        visited.add(key)
        ordered.append(pages[key])
        children = [aliases.get(link, link) for link in pages[key].links]
        stack.extend(reversed([c for c in children if c not in visited and c in pages]))
    ordered.extend(page for key, page in pages.items() if key not in visited)
    return ordered
