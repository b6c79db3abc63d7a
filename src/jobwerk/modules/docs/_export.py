"""Write the export files of a crawl into the caller's output folder."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from ._browser import print_pdf
from ._combine import (
    combined_json,
    combined_markdown,
    link_resolver,
    markdown_to_html,
    now_utc,
    page_markdown,
    slugify,
)
from ._models import CrawlResult, ExportFile, ExportFormat, ScrapeSettings
from ._ssrf import SSRFGuard, UnsafeTarget

CONTENT_TYPES = {
    "markdown": "text/markdown; charset=utf-8",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "page-markdown": "text/markdown; charset=utf-8",
}
_EXTENSIONS = {"markdown": "md", "json": "json", "html": "html", "pdf": "pdf"}


def default_base_name(start_url: str) -> str:
    """A file base name from the start URL's host and path, e.g. ``docs-example-com-guide``."""
    parts = urlsplit(start_url)
    return slugify(f"{parts.hostname or 'site'} {parts.path}", 80)


def document_title(crawl: CrawlResult) -> str:
    """The combined document's title."""
    return f"Documentation: {urlsplit(crawl.start_url).hostname}{urlsplit(crawl.start_url).path}"


async def write_exports(
    crawl: CrawlResult,
    formats: list[ExportFormat],
    output_dir: Path,
    *,
    key: Callable[[str], str],
    settings: ScrapeSettings,
    base_name: str | None = None,
    per_page: bool = True,
) -> list[ExportFile]:
    """Write one combined file per format plus per-page Markdown files.

    Raises:
        UnsafeTarget: ``base_name`` would write outside ``output_dir``.
    """
    root = await asyncio.to_thread(_prepare_root, output_dir)
    base = slugify(base_name, 80) if base_name else default_base_name(crawl.start_url)
    title = document_title(crawl)
    generated = now_utc()
    markdown = combined_markdown(crawl, title, key, generated)
    files: list[ExportFile] = []
    html_doc: str | None = None
    for fmt in formats:
        name = f"{base}.{_EXTENSIONS[fmt.value]}"
        if fmt is ExportFormat.MARKDOWN:
            data = markdown.encode()
        elif fmt is ExportFormat.JSON:
            data = combined_json(crawl, title, generated).encode()
        else:
            html_doc = html_doc or markdown_to_html(markdown, title)
            if fmt is ExportFormat.HTML:
                data = html_doc.encode()
            else:
                data = await print_pdf(settings.chromium_path, html_doc, SSRFGuard(settings))
        files.append(_write(root, name, fmt.value, data))
    if per_page:
        files.extend(_write_pages(crawl, root, base, key))
    return files


def _write_pages(
    crawl: CrawlResult, root: Path, base: str, key: Callable[[str], str]
) -> list[ExportFile]:
    names = [f"{i:03d}-{slugify(p.title, 50)}.md" for i, p in enumerate(crawl.pages, 1)]
    targets = {key(p.final_url): n for p, n in zip(crawl.pages, names, strict=True)}
    resolve = link_resolver(crawl, targets, key)
    return [
        _write(root, f"{base}-pages/{name}", "page-markdown", page_markdown(page, resolve).encode())
        for page, name in zip(crawl.pages, names, strict=True)
    ]


def _write(root: Path, name: str, fmt: str, data: bytes) -> ExportFile:
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise UnsafeTarget(f"export path escapes the output folder: {name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return ExportFile(name, fmt, len(data), CONTENT_TYPES[fmt], path)


def _prepare_root(output_dir: Path) -> Path:
    root = output_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root
