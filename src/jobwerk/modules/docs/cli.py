"""``jobwerk scrape URL -o FILE``: run the documentation scraper from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from .scraper import ExportFormat, ScrapeOptions, ScrapeProgress, ScrapeRequest, scrape

app = typer.Typer(help="Scrape a documentation site into Markdown, JSON, HTML or PDF.")


@app.command("scrape")
def scrape_command(
    url: Annotated[str, typer.Argument(help="start URL (http/https)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="combined output file")],
    formats: Annotated[
        list[ExportFormat] | None, typer.Option("--format", "-f", help="extra formats")
    ] = None,
    max_pages: Annotated[int, typer.Option(help="page limit")] = 500,
    max_depth: Annotated[int, typer.Option(help="link hops from the start URL")] = 10,
    rate_limit: Annotated[float, typer.Option(help="requests per second")] = 2.0,
    concurrency: Annotated[int, typer.Option(help="parallel requests")] = 2,
    render_js: Annotated[bool, typer.Option("--render-js", help="render with Chromium")] = False,
    ignore_robots: Annotated[bool, typer.Option("--ignore-robots")] = False,
) -> None:
    """Crawl URL and write the combined export next to OUTPUT (format from its suffix)."""
    by_suffix = {".md": ExportFormat.MARKDOWN, ".json": ExportFormat.JSON}
    by_suffix |= {".html": ExportFormat.HTML, ".pdf": ExportFormat.PDF}
    main_format = by_suffix.get(output.suffix.lower(), ExportFormat.MARKDOWN)
    request = ScrapeRequest.model_validate(
        {
            "url": url,
            "export_formats": [main_format, *(formats or [])],
            "options": ScrapeOptions(
                max_pages=max_pages,
                max_depth=max_depth,
                rate_limit=rate_limit,
                concurrency=concurrency,
                render_js=render_js,
                respect_robots=not ignore_robots,
            ),
        }
    )
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[url]}"),
        console=console,
    ) as bar:
        task = bar.add_task("crawling", total=max_pages, url="")

        def report(progress: ScrapeProgress) -> None:
            bar.update(
                task,
                completed=progress.pages_done,
                total=min(max_pages, progress.pages_done + progress.pages_queued) or 1,
                url=(progress.current_url or "")[-60:],
            )

        result = asyncio.run(
            scrape(request, output.parent, on_progress=report, base_name=output.stem)
        )
    crawl = result.crawl
    console.print(
        f"{len(crawl.pages)} pages, {len(crawl.failed)} failed, {len(crawl.skipped)} skipped"
        + (f" (stopped: {crawl.stop_reason})" if crawl.stop_reason else "")
    )
    for file in result.files:
        if file.format != "page-markdown":
            console.print(f"wrote {file.path} ({file.size} bytes)")
