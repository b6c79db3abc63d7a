"""Workflows of the docs module: ``docs.scrape`` (crawl, export) and ``docs.convert``."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from jobwerk.core.exports import RUN_ID, export_file
from jobwerk.sdk import AppError, StepContext, Workflow

from ._browser import print_pdf
from ._export import write_exports
from .credentials import resolve_credentials
from .scraper import (
    CrawlCache,
    CrawlResult,
    Credentials,
    ScrapeProgress,
    ScrapeRequest,
    SSRFGuard,
    crawl,
    markdown_to_html,
    normalize_url,
)
from .settings import DocsSettings

_CRAWL = TypeAdapter(CrawlResult)
MAX_LISTED_FAILURES = 500


scrape_workflow = Workflow(
    "docs.scrape",
    ScrapeRequest,
    title="Scrape documentation",
    description="Crawls a documentation site and exports it as Markdown, JSON, HTML or PDF.",
)


def cache_path(data_dir: Path, request: ScrapeRequest) -> Path:
    """The crawl cache of a start URL (and credential: other auth may see other pages)."""
    url = normalize_url(str(request.url), keep_query=request.options.keep_query)
    digest = hashlib.sha256(f"{url}\n{request.credential_id or ''}".encode()).hexdigest()
    return data_dir / "docs" / "cache" / f"{digest[:32]}.json"


async def load_credentials(ctx: StepContext[ScrapeRequest]) -> Credentials | None:
    """The stored credential of the request, for its start URL's host only."""
    request = ctx.params
    if request.credential_id is None:
        return None
    async with ctx.db.write() as session:
        return await resolve_credentials(session, ctx.box, request.credential_id, str(request.url))


def _reporter(ctx: StepContext[ScrapeRequest]) -> Callable[[ScrapeProgress], None]:
    """Crawl progress as step progress; each new page failure also becomes a log line."""
    seen_failures = 0

    def report(progress: ScrapeProgress) -> None:
        nonlocal seen_failures
        if progress.pages_failed > seen_failures and progress.last_error:
            ctx.log(f"page failed: {progress.last_error}", "warning")
        seen_failures = progress.pages_failed
        ctx.progress(
            progress.pages_done,
            min(progress.pages_done + progress.pages_queued, progress.max_pages),
            message=progress.current_url,
            pages_ok=progress.pages_ok,
            pages_failed=progress.pages_failed,
            pages_skipped=progress.pages_skipped,
            pages_queued=progress.pages_queued,
            current_url=progress.current_url,
            last_error=progress.last_error,
            bytes_fetched=progress.bytes_fetched,
        )

    return report


# Not resumable: a retry crawls again (cheaply, through the cache) instead of re-exporting.
@scrape_workflow.step("crawl", title="Crawl pages", timeout=90_000, resumable=False)
async def crawl_pages(ctx: StepContext[ScrapeRequest]) -> dict[str, Any]:
    request = ctx.params
    data_dir = ctx.data_dir
    cache_file = cache_path(data_dir, request)
    # The pages' Markdown goes to disk as it is converted, beside the crawl file the export
    # step reads: memory stays flat however large the site.
    crawl_file = data_dir / "docs" / "crawls" / f"{ctx.run_id}.json"
    spool = crawl_file.with_suffix("")
    await ctx.to_thread(_fresh_folder, spool)
    with await ctx.to_thread(CrawlCache.load, cache_file) as cache:
        ctx.info(f"crawling {request.url}", cached_pages=len(cache.entries))
        result = await crawl(
            request,
            DocsSettings().scrape_settings(),
            credentials=await load_credentials(ctx),
            cache=cache,
            on_progress=_reporter(ctx),
            cancel=lambda: ctx.cancelled,
            spool=spool,
        )
        await ctx.to_thread(cache.save, cache_file)
    ctx.result.update(_summary(result))
    if result.cancelled:
        # The runner starts no further step after a cancel: keep what was fetched here.
        ctx.warning(f"cancelled after {len(result.pages)} pages; exporting them as they are")
        try:
            return await _export(ctx, result)
        finally:
            await ctx.to_thread(shutil.rmtree, spool, True)
    for page in result.pages:
        page.links = []  # the export needs none: without them the file is a tenth of the size
    await ctx.to_thread(_write_bytes, crawl_file, _CRAWL.dump_json(result))
    return {"crawl_file": crawl_file.name, "pages": len(result.pages)}


def remove_stale_crawls(data_dir: Path, older_than_seconds: float = 86_400) -> int:
    """Delete crawl results (and their pages' folders) a dead process left between the crawl
    and export steps."""
    folder = data_dir / "docs" / "crawls"
    if not folder.is_dir():
        return 0
    limit = time.time() - older_than_seconds
    stale = [path for path in folder.iterdir() if path.stat().st_mtime < limit]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(stale)


def _fresh_folder(path: Path) -> None:
    """An empty folder at ``path`` (a retried step's leftovers removed)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def _summary(result: CrawlResult) -> dict[str, Any]:
    return {
        "url": result.start_url,
        "pages": len(result.pages),
        "pages_failed": len(result.failed),
        "pages_skipped": len(result.skipped),
        "pages_changed": sum(page.change != "same" for page in result.pages),
        "stop_reason": result.stop_reason,
        "partial": result.stop_reason is not None,
        "duration_seconds": round(result.duration_seconds, 2),
        "failed_pages": [
            {"url": page.url, "reason": page.reason, "status_code": page.status_code}
            for page in result.failed[:MAX_LISTED_FAILURES]
        ],
    }


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@scrape_workflow.step("export", title="Write exports", timeout=3600)
async def export_pages(ctx: StepContext[ScrapeRequest]) -> dict[str, Any]:
    crawl_file = ctx.data_dir / "docs" / "crawls" / ctx.outputs["crawl"]["crawl_file"]
    try:
        raw = await ctx.to_thread(crawl_file.read_bytes)
    except FileNotFoundError:
        raise AppError("the crawl result is gone; start a new scrape") from None
    try:
        return await _export(ctx, _CRAWL.validate_json(raw))
    finally:
        await ctx.to_thread(crawl_file.unlink, True)
        await ctx.to_thread(shutil.rmtree, crawl_file.with_suffix(""), True)


async def _export(ctx: StepContext[ScrapeRequest], result: CrawlResult) -> dict[str, Any]:
    request = ctx.params
    settings = DocsSettings().scrape_settings()
    files = await write_exports(
        result,
        request.export_formats,
        ctx.export_dir,
        keep_query=request.options.keep_query,
        settings=settings,
    )
    combined = [file for file in files if file.format != "page-markdown"]
    for file in combined:
        ctx.add_export(file.path, content_type=file.content_type, title=f"{file.format} export")
    ctx.result["page_files"] = len(files) - len(combined)
    ctx.info(f"wrote {len(combined)} export files and {len(files) - len(combined)} page files")
    return {"files": [file.name for file in combined]}


class ConvertParams(BaseModel):
    """Convert one export file of a run into another format."""

    model_config = ConfigDict(extra="forbid")

    source_run_id: str = Field(pattern=RUN_ID.pattern)
    source: str = Field(min_length=1, max_length=500, description="export file name")
    target_format: Literal["html", "pdf"]


CONVERSIONS: dict[str, frozenset[str]] = {
    ".md": frozenset({"html", "pdf"}),
    ".markdown": frozenset({"html", "pdf"}),
    ".html": frozenset({"pdf"}),
}


def can_convert(source: str, target_format: str) -> bool:
    return target_format in CONVERSIONS.get(Path(source).suffix.lower(), frozenset())


convert_workflow = Workflow(
    "docs.convert",
    ConvertParams,
    title="Convert an export",
    description="Renders a Markdown or HTML export of a run as HTML or PDF.",
)


@convert_workflow.step("convert", title="Convert", timeout=600)
async def convert_export(ctx: StepContext[ConvertParams]) -> dict[str, Any]:
    params = ctx.params
    if not can_convert(params.source, params.target_format):
        raise AppError(f"cannot convert {params.source} to {params.target_format}")
    source = export_file(ctx.data_dir, params.source_run_id, params.source)
    text = await ctx.to_thread(source.read_text, "utf-8")
    ctx.progress(0, 1, message=f"converting {params.source}")
    html = text if source.suffix.lower() == ".html" else markdown_to_html(text, source.stem)
    if params.target_format == "pdf":
        settings = DocsSettings().scrape_settings()
        data = await print_pdf(settings.chromium_path, html, SSRFGuard(settings))
    else:
        data = html.encode()
    target = ctx.export_dir / f"{source.stem}.{params.target_format}"
    await ctx.to_thread(target.write_bytes, data)
    content_type = "application/pdf" if params.target_format == "pdf" else "text/html"
    ctx.add_export(target, content_type=content_type, title=f"{params.source} as {target.suffix}")
    ctx.progress(1, 1)
    return {"file": target.name, "size": len(data)}


WORKFLOWS: Sequence[Workflow[Any]] = (scrape_workflow, convert_workflow)
