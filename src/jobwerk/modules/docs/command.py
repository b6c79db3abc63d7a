"""``jobwerk scrape URL -o FILE``: the scraper without a server, with the module's SSRF settings.

Private targets (an intranet docs host, a site on loopback) need ``--allow-host`` or
``JOBWERK_DOCS__ALLOW_HOSTS``; the engine refuses them otherwise.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from .scraper import (
    ExportFormat,
    ScrapeOptions,
    ScrapeProgress,
    ScrapeRequest,
    ScrapeResult,
    UnsafeTarget,
)
from .scraper import scrape as run_scrape
from .settings import DocsSettings

SUFFIXES = {
    ".md": ExportFormat.MARKDOWN,
    ".json": ExportFormat.JSON,
    ".html": ExportFormat.HTML,
    ".pdf": ExportFormat.PDF,
}


def scrape(
    url: Annotated[str, typer.Argument(help="start URL (http/https)")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="combined file; its suffix picks the format")
    ],
    formats: Annotated[
        list[ExportFormat] | None, typer.Option("--format", "-f", help="more formats")
    ] = None,
    max_pages: Annotated[int, typer.Option(min=1, help="page limit")] = 500,
    max_depth: Annotated[int, typer.Option(min=0, help="link hops from the start URL")] = 10,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help="admit this private host, IP or CIDR (repeatable)"),
    ] = None,
    rate_limit: Annotated[float, typer.Option(help="requests per second")] = 2.0,
    concurrency: Annotated[int, typer.Option(help="parallel requests")] = 2,
    render_js: Annotated[bool, typer.Option("--render-js", help="render with Chromium")] = False,
    ignore_robots: Annotated[bool, typer.Option("--ignore-robots")] = False,
) -> None:
    """Scrape a documentation site into Markdown, JSON, HTML or PDF files next to OUTPUT."""
    console = Console(stderr=True)
    main_format = SUFFIXES.get(output.suffix.lower(), ExportFormat.MARKDOWN)
    try:
        request = ScrapeRequest(
            url=url,  # validated by pydantic
            export_formats=[main_format, *(formats or [])],
            options=ScrapeOptions(
                max_pages=max_pages,
                max_depth=max_depth,
                rate_limit=rate_limit,
                concurrency=concurrency,
                render_js=render_js,
                respect_robots=not ignore_robots,
            ),
        )
    except ValueError as exc:
        console.print(f"[bold red]Error:[/] {exc}")
        raise typer.Exit(2) from None
    settings = DocsSettings().scrape_settings(*(allow_host or []))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[url]}"),
        console=console,
    ) as bar:
        task = bar.add_task("crawling", total=max_pages, url="")

        def report(progress: ScrapeProgress) -> None:
            total = min(max_pages, progress.pages_done + progress.pages_queued) or 1
            url = (progress.current_url or "")[-60:]
            bar.update(task, completed=progress.pages_done, total=total, url=url)

        try:
            result = asyncio.run(
                run_scrape(
                    request, output.parent, settings, on_progress=report, base_name=output.stem
                )
            )
        except UnsafeTarget as exc:
            console.print(f"[bold red]Refused:[/] {exc.message} (see --allow-host)")
            raise typer.Exit(1) from None
    _print_summary(console, result)


def _print_summary(console: Console, result: ScrapeResult) -> None:
    crawl = result.crawl
    stopped = f" (stopped: {crawl.stop_reason})" if crawl.stop_reason else ""
    console.print(
        f"{len(crawl.pages)} pages, {len(crawl.failed)} failed, {len(crawl.skipped)} skipped"
        + stopped
    )
    for failed in crawl.failed[:20]:
        console.print(f"  failed: {failed.url} ({failed.reason})")
    for file in result.files:
        if file.format != "page-markdown":
            console.print(f"wrote {file.path} ({file.size} bytes)")
