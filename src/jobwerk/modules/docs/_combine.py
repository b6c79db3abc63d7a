"""Combined documents from crawled pages: pure functions (Markdown, JSON, HTML), no I/O."""

from __future__ import annotations

import html
import json
import re
import string
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from markdown_it import MarkdownIt

from ._models import CrawlResult, Page

_LINK = re.compile(r"\]\((<[^>\n]*>|[^)\s]+)((?:\s+\"[^\"\n]*\")?)\)")
_HEADING = re.compile(r"^(#{1,6}) ")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def slugify(text: str, limit: int = 60) -> str:
    """A lower-case ASCII slug safe for file names and anchors."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "page"


def page_anchors(pages: list[Page]) -> list[str]:
    """Unique anchor ids per page (site order), e.g. ``p003-installation``."""
    return [f"p{i:03d}-{slugify(p.title, 40)}" for i, p in enumerate(pages, 1)]


def map_lines_outside_code(markdown: str, transform: Callable[[str], str]) -> str:
    """Apply ``transform`` to every line that is not inside a fenced code block."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            out.append(line)
        elif fence is not None:
            closing = match is not None and line.strip() == match.group(1)
            if closing and match and match.group(1)[0] == fence[0]:
                fence = None if len(match.group(1)) >= len(fence) else fence
            out.append(line)
        else:
            out.append(transform(line))
    return "\n".join(out)


def rewrite_links(markdown: str, resolve: Callable[[str], str | None]) -> str:
    """Replace link targets for which ``resolve`` returns a new target (outside code)."""

    def one(match: re.Match[str]) -> str:
        target = match.group(1).strip("<>")
        new = resolve(target)
        return match.group(0) if new is None else f"]({new}{match.group(2)})"

    return map_lines_outside_code(markdown, lambda line: _LINK.sub(one, line))


def shift_headings(markdown: str, by: int = 1) -> str:
    """Demote ATX headings by ``by`` levels (capped at 6), outside code."""

    def one(line: str) -> str:
        match = _HEADING.match(line)
        if not match:
            return line
        level = min(6, len(match.group(1)) + by)
        return "#" * level + line[len(match.group(1)) :]

    return map_lines_outside_code(markdown, one)


def link_resolver(
    crawl: CrawlResult, targets: dict[str, str], key: Callable[[str], str]
) -> Callable[[str], str | None]:
    """Map in-scope page URLs (and their aliases) to ``targets`` (anchors or file names)."""

    def resolve(url: str) -> str | None:
        if not url.startswith(("http://", "https://")):
            return None
        canonical = key(url.split("#", 1)[0])
        canonical = crawl.aliases.get(canonical, canonical)
        return targets.get(canonical)

    return resolve


def combined_markdown(
    crawl: CrawlResult, title: str, key: Callable[[str], str], generated_at: datetime
) -> str:
    """One Markdown document: title, contents, then every page with its source URL."""
    anchors = page_anchors(crawl.pages)
    targets = {key(p.final_url): f"#{a}" for p, a in zip(crawl.pages, anchors, strict=True)}
    resolve = link_resolver(crawl, targets, key)
    parts = [
        f"# {title}",
        f"Source: <{crawl.start_url}> · {len(crawl.pages)} pages · "
        f"generated {generated_at.strftime('%Y-%m-%d %H:%M UTC')}",
        '<a id="contents"></a>\n\n## Contents',
        "\n".join(
            f"- [{_inline(p.title)}](#{a})" for p, a in zip(crawl.pages, anchors, strict=True)
        ),
    ]
    for page, anchor in zip(crawl.pages, anchors, strict=True):
        body = shift_headings(rewrite_links(page.markdown, resolve)).strip()
        parts += ["---", f'<a id="{anchor}"></a>\n\n## {_inline(page.title)}']
        parts.append(f"Source: <{page.final_url}>")
        if body:
            parts.append(body)
    return "\n\n".join(parts) + "\n"


def page_markdown(page: Page, resolve: Callable[[str], str | None]) -> str:
    """A stand-alone Markdown file for one page, links to other pages made relative."""
    body = rewrite_links(page.markdown, resolve).strip()
    return f"# {_inline(page.title)}\n\nSource: <{page.final_url}>\n\n{body}\n"


def combined_json(crawl: CrawlResult, title: str, generated_at: datetime) -> str:
    """The crawl as JSON: pages in site order with Markdown and validators, failures, stats."""
    anchors = page_anchors(crawl.pages)
    payload: dict[str, Any] = {
        "title": title,
        "source": crawl.start_url,
        "generated_at": generated_at.isoformat(),
        "complete": crawl.stop_reason is None,
        "stop_reason": crawl.stop_reason,
        "pages": [
            {
                "url": p.url,
                "final_url": p.final_url,
                "title": p.title,
                "anchor": anchor,
                "depth": p.depth,
                "hash": p.content_hash,
                "etag": p.etag,
                "last_modified": p.last_modified,
                "crawled_at": p.crawled_at.isoformat() if p.crawled_at else None,
                "change": p.change,
                "markdown": p.markdown,
            }
            for p, anchor in zip(crawl.pages, anchors, strict=True)
        ],
        "failed": [vars(f) for f in crawl.failed],
        "skipped": [vars(s) for s in crawl.skipped],
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


def markdown_to_html(markdown: str, title: str) -> str:
    """Render the combined Markdown as a stand-alone HTML document (also the PDF's input)."""
    renderer = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    body = renderer.render(markdown)
    template = resources.files(__package__).joinpath("_template.html").read_text("utf-8")
    return string.Template(template).substitute(title=html.escape(title), body=body)


def now_utc() -> datetime:
    """The export timestamp."""
    return datetime.now(UTC)


def _inline(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<])", r"\\\1", re.sub(r"\s+", " ", text)).strip()


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
