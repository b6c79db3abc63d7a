"""Write the export files of a crawl into the caller's output folder.

The pages are read (from memory or the spool) and rendered in batches by the conversion
processes, and every file is written as the batches come back in site order: memory holds a few
batches, never a whole document (except for the PDF, which Chromium prints from one string).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from ._browser import print_pdf
from ._combine import (
    JSON_PAGES,
    anchor_targets,
    file_targets,
    html_frame,
    json_frame,
    json_page_meta,
    json_pages,
    markdown_header,
    now_utc,
    page_anchors,
    page_file_names,
    slugify,
)
from ._convert import LinkTables, SectionBatch, SectionJob, Sections, render_html, render_sections
from ._models import CrawlResult, ExportFile, ExportFormat, ScrapeSettings
from ._pool import Converter
from ._ssrf import SSRFGuard, UnsafeTarget
from ._urls import normalize_url

CONTENT_TYPES = {
    "markdown": "text/markdown; charset=utf-8",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "page-markdown": "text/markdown; charset=utf-8",
}
_EXTENSIONS = {"markdown": "md", "json": "json", "html": "html", "pdf": "pdf"}
BATCH_PAGES = 4  # small: the sections of the batches in flight are what the export holds


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
    keep_query: bool,
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
    plan = _Plan(crawl, formats, root, base, keep_query, per_page)
    async with Converter(settings.workers) as converter:
        written = await asyncio.to_thread(plan.write, converter, now_utc())
    if ExportFormat.PDF in formats:
        html_doc = await asyncio.to_thread(plan.html_path().read_text, "utf-8")
        data = await print_pdf(settings.chromium_path, html_doc, SSRFGuard(settings))
        written["pdf"] = await asyncio.to_thread(plan.write_file, "pdf", data)
        if "html" not in written:
            await asyncio.to_thread(plan.html_path().unlink)
    combined = [written[fmt.value] for fmt in formats]
    return combined + plan.page_files


class _Plan:
    """The files of one export and the pass that writes them."""

    def __init__(
        self,
        crawl: CrawlResult,
        formats: list[ExportFormat],
        root: Path,
        base: str,
        keep_query: bool,
        per_page: bool,
    ) -> None:
        self.crawl = crawl
        self.formats = {fmt.value for fmt in formats}
        self.root = root
        self.base = base
        self.keep_query = keep_query
        self.per_page = per_page
        self.title = document_title(crawl)
        self.page_files: list[ExportFile] = []

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root):
            raise UnsafeTarget(f"export path escapes the output folder: {name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _name(self, fmt: str) -> str:
        return f"{self.base}.{_EXTENSIONS[fmt]}"

    def html_path(self) -> Path:
        """The HTML a PDF is printed from: the HTML export, or a scratch file if none."""
        if "html" in self.formats:
            return self._path(self._name("html"))
        return self._path(f".{self.base}.pdf.html")

    def write_file(self, fmt: str, data: bytes) -> ExportFile:
        """Write one whole file (the PDF)."""
        path = self._path(self._name(fmt))
        path.write_bytes(data)
        return _export_file(path, fmt, len(data), self._name(fmt))

    def write(self, converter: Converter, generated: datetime) -> dict[str, ExportFile]:
        """Write Markdown, JSON, HTML and page files in one pass over the pages (a thread)."""
        html = "html" in self.formats or "pdf" in self.formats
        with ExitStack() as stack:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="jobwerk-export-"))
            outputs: dict[str, _Output] = {}
            for fmt in ("markdown", "json"):
                if fmt in self.formats:
                    name = self._name(fmt)
                    outputs[fmt] = stack.enter_context(_Output(self._path(name), name))
            if html:
                path = self.html_path()
                outputs["html"] = stack.enter_context(_Output(path, path.name))
            tables = Path(scratch, "links.pickle")
            self._link_tables().save(tables)
            header = markdown_header(self.crawl, self.title, generated)
            header_html = converter.submit(render_html, header + "\n") if html else None
            frame = json_frame(self.crawl, self.title, generated) if "json" in outputs else ""
            json_head, _, json_tail = frame.partition(JSON_PAGES)
            html_head, html_tail = html_frame(self.title)
            self._write(outputs, markdown=header, json=json_head + '"pages": ', html=html_head)
            entries = self._write_sections(outputs, converter, str(tables), header_html)
            if "json" in outputs:
                for piece in json_pages(entries):
                    outputs["json"].write(piece)
            else:
                deque(entries, maxlen=0)
            self._write(outputs, markdown="\n", json=json_tail, html=html_tail)
        return {
            fmt: _export_file(out.path, fmt, out.size, out.name)
            for fmt, out in outputs.items()
            if fmt in self.formats
        }

    def _link_tables(self) -> LinkTables:
        def key(url: str) -> str:
            return normalize_url(url, keep_query=self.keep_query)

        pages = self.crawl.pages
        files = file_targets(pages, key) if self.per_page else {}
        return LinkTables(self.crawl.aliases, anchor_targets(pages, key), files, self.keep_query)

    @staticmethod
    def _write(outputs: dict[str, _Output], **texts: str) -> None:
        """Write each text to its format's file, if that file is being written."""
        for fmt, text in texts.items():
            if fmt in outputs:
                outputs[fmt].write(text)

    def _write_sections(
        self,
        outputs: dict[str, _Output],
        converter: Converter,
        tables: str,
        header_html: Future[str] | None,
    ) -> Iterator[str]:
        """Write every page's sections in site order; yields the JSON entries as they come."""
        names = page_file_names(self.crawl.pages)
        rendered = self._rendered(converter, tables, html=header_html is not None)
        for index, sections in enumerate(rendered):
            if header_html is not None and index == 0:  # rendered while the batches were queued
                outputs["html"].write(header_html.result())
            if "markdown" in outputs:
                outputs["markdown"].write("\n\n" + sections.markdown)
            if "html" in outputs:
                outputs["html"].write(sections.html)
            if self.per_page:
                name = f"{self.base}-pages/{names[index]}"
                path = self._path(name)
                data = sections.page_file.encode()
                path.write_bytes(data)
                self.page_files.append(_export_file(path, "page-markdown", len(data), name))
            if "json" in outputs:
                yield sections.json
        if header_html is not None and not names:
            outputs["html"].write(header_html.result())

    def _rendered(self, converter: Converter, tables: str, html: bool) -> Iterator[Sections]:
        """The pages' sections in site order, rendered a few batches ahead by the workers."""
        want_json = "json" in self.formats
        pages = self.crawl.pages
        anchors = page_anchors(pages)

        def jobs(start: int) -> list[SectionJob]:  # one batch's, not every page's at once
            return [
                SectionJob(
                    page.title,
                    page.final_url,
                    anchor,
                    page.markdown,
                    page.spooled,
                    json_page_meta(page, anchor) if want_json else None,
                )
                for page, anchor in zip(
                    pages[start : start + BATCH_PAGES],
                    anchors[start : start + BATCH_PAGES],
                    strict=True,
                )
            ]

        batches = (
            SectionBatch(self.crawl.spool, tables, html, self.per_page, jobs(start))
            for start in range(0, len(pages), BATCH_PAGES)
        )
        window: deque[Future[list[Sections]]] = deque()
        ahead = 2 * max(1, converter.workers)
        for batch in batches:
            window.append(converter.submit(render_sections, batch))
            if len(window) > ahead:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()


class _Output:
    """An export file written piece by piece (UTF-8), counting its bytes."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.size = 0
        self._handle: BinaryIO | None = None

    def __enter__(self) -> _Output:
        self._handle = self.path.open("wb")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()

    def write(self, text: str) -> None:
        assert self._handle is not None
        data = text.encode()
        self._handle.write(data)
        self.size += len(data)


def _export_file(path: Path, fmt: str, size: int, name: str | None = None) -> ExportFile:
    relative = name or path.name
    return ExportFile(relative, fmt, size, CONTENT_TYPES[fmt], path)


def _prepare_root(output_dir: Path) -> Path:
    root = output_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root
