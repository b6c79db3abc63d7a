"""Services behind the docs module's routes: start scrapes, scrape small sites inline, pre-flight
checks and conversions of exports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core import run_service
from jobwerk.core.exports import ExportEntry, export_file, run_exports
from jobwerk.sdk import AppError, ExportFileRead, InvalidInput, NotFound, Runtime
from jobwerk.storage.models import Run

from ._export import document_title
from .credentials import resolve_credentials
from .schemas import (
    ConversionRead,
    FailedPageRead,
    SyncPageRead,
    SyncScrapeRead,
)
from .scraper import (
    Credentials,
    Estimate,
    ScrapeRequest,
    ValidationReport,
    combined_markdown,
    crawl,
    estimate_scrape,
    normalize_url,
    validate_target,
)
from .settings import DocsSettings
from .workflows import ConvertParams, can_convert

API = "/api/v1"


class TooLarge(AppError):
    status = 413


async def credentials_for(runtime: Runtime, request: ScrapeRequest) -> Credentials | None:
    """The request's stored credential for its start URL (NotFound / InvalidInput)."""
    if request.credential_id is None:
        return None
    async with runtime.transaction() as session:
        return await resolve_credentials(
            session, runtime.box, request.credential_id, str(request.url)
        )


async def start_scrape(
    runtime: Runtime, request: ScrapeRequest, request_id: str | None, started_by: str | None
) -> Run:
    """Queue a ``docs.scrape`` run (its credential is checked first)."""
    await credentials_for(runtime, request)
    async with runtime.transaction() as session:
        return await run_service.enqueue_run(
            session,
            runtime.workflows,
            "docs.scrape",
            request.model_dump(mode="json"),
            trigger="api",
            started_by=started_by,
            request_id=request_id,
        )


async def scrape_now(runtime: Runtime, request: ScrapeRequest) -> SyncScrapeRead:
    """Crawl a small site within the request.

    Raises:
        TooLarge: the site has more pages than the synchronous cap allows.
    """
    settings = DocsSettings()
    cap = settings.sync_max_pages
    options = request.options.model_copy(
        update={
            "max_pages": min(request.options.max_pages, cap),
            "max_duration_seconds": min(
                request.options.max_duration_seconds, settings.sync_max_seconds
            ),
        }
    )
    result = await crawl(
        request.model_copy(update={"options": options}),
        settings.scrape_settings(),
        credentials=await credentials_for(runtime, request),
    )
    truncated = result.stop_reason in ("max_pages", "time_budget")
    if truncated and request.options.max_pages > cap:
        raise TooLarge(
            f"the site has more than {cap} pages; start an asynchronous scrape "
            f"with POST {API}/scrape"
        )
    title = document_title(result)

    def key(url: str) -> str:
        return normalize_url(url, keep_query=request.options.keep_query)

    markdown = combined_markdown(result, title, key, datetime.now(UTC))
    return SyncScrapeRead(
        url=result.start_url,
        title=title,
        markdown=markdown,
        page_count=len(result.pages),
        pages=[SyncPageRead(url=p.final_url, title=p.title, depth=p.depth) for p in result.pages],
        failed=[
            FailedPageRead(url=f.url, reason=f.reason, status_code=f.status_code)
            for f in result.failed
        ],
        truncated=truncated,
        stop_reason=result.stop_reason,
        duration_seconds=round(result.duration_seconds, 3),
    )


async def check_target(runtime: Runtime, request: ScrapeRequest) -> ValidationReport:
    credentials = await credentials_for(runtime, request)
    return await validate_target(request, DocsSettings().scrape_settings(), credentials)


async def estimate(runtime: Runtime, request: ScrapeRequest) -> Estimate:
    credentials = await credentials_for(runtime, request)
    return await estimate_scrape(request, DocsSettings().scrape_settings(), credentials)


def _default_source(entries: list[ExportEntry], target_format: str) -> str:
    for entry in entries:
        if entry.listed and can_convert(entry.name, target_format):
            return entry.name
    raise InvalidInput(
        f"the run has no export that converts to {target_format}; name a source",
        [{"loc": ["body", "source"], "msg": "no convertible export", "type": "value_error"}],
    )


async def start_conversion(
    runtime: Runtime,
    run_id: str,
    target_format: str,
    source: str | None,
    request_id: str | None,
    started_by: str | None,
) -> Run:
    """Queue a ``docs.convert`` run for one export of ``run_id``.

    Raises:
        NotFound: unknown run or file. InvalidInput: the file cannot become ``target_format``.
    """
    data_dir = runtime.settings.data_dir
    async with runtime.transaction() as session:
        source_run, entries = await run_exports(session, data_dir, run_id)
        run_id = source_run.id  # the whole id, also when a unique prefix was given
        source = source or _default_source(entries, target_format)
        export_file(data_dir, run_id, source)
        if not can_convert(source, target_format):
            raise InvalidInput(
                f"cannot convert {source} to {target_format} (Markdown → HTML/PDF, HTML → PDF)",
                [{"loc": ["body", "target_format"], "msg": "unsupported", "type": "value_error"}],
            )
        params = ConvertParams(source_run_id=run_id, source=source, target_format=target_format)
        return await run_service.enqueue_run(
            session,
            runtime.workflows,
            "docs.convert",
            params.model_dump(),
            trigger="api",
            started_by=started_by,
            request_id=request_id,
        )


async def conversion(session: AsyncSession, data_dir: Path, conversion_id: str) -> ConversionRead:
    """A conversion's status and files. Raises NotFound."""
    run, entries = await run_exports(session, data_dir, conversion_id)
    if run.workflow != "docs.convert":
        raise NotFound(f"Conversion '{conversion_id}' not found")
    return ConversionRead(
        conversion_id=run.id,
        status=run.status,
        source_job_id=run.params["source_run_id"],
        source=run.params["source"],
        target_format=run.params["target_format"],
        progress=run.progress,
        error=run.error,
        files=[ExportFileRead.of(run.id, entry) for entry in entries],
        status_url=f"{API}/exports/conversions/{run.id}",
        created_at=run.created_at,
        finished_at=run.finished_at,
    )
