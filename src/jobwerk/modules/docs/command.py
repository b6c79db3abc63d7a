"""``jobwerk scrape URL -o FILE``: the scraper without a server, with the module's SSRF settings.

Private targets (an intranet docs host, a site on loopback) need ``--allow-host`` or
``JOBWERK_DOCS__ALLOW_HOSTS``; the engine refuses them otherwise.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from .scraper import (
    ExportFormat,
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
_LIMITS = {
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
}
_OPTION_NAMES = {"url": "URL", "export_formats": "--format"}
LISTED_PAGES = 50  # failed and skipped pages listed one by one; the rest are counted by reason


def scrape(
    url: Annotated[str, typer.Argument(help="start URL (http/https)")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="combined file; its suffix picks the format")
    ],
    formats: Annotated[
        list[ExportFormat] | None, typer.Option("--format", "-f", help="more formats")
    ] = None,
    max_pages: Annotated[int, typer.Option(help="page limit")] = 500,
    max_depth: Annotated[int, typer.Option(help="link hops from the start URL")] = 10,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help="admit this private host, IP or CIDR (repeatable)"),
    ] = None,
    rate_limit: Annotated[
        float,
        typer.Option(help="requests per second; 0: no limit (public hosts: at most 20)"),
    ] = 2.0,
    concurrency: Annotated[
        int, typer.Option(help="parallel requests (public hosts: at most 16)")
    ] = 2,
    render_js: Annotated[bool, typer.Option("--render-js", help="render with Chromium")] = False,
    ignore_robots: Annotated[bool, typer.Option("--ignore-robots")] = False,
) -> None:
    """Scrape a documentation site into Markdown, JSON, HTML or PDF files next to OUTPUT."""
    console = Console(stderr=True)
    main_format = SUFFIXES.get(output.suffix.lower())
    if main_format is None:
        suffix = output.suffix or "(none)"
        _fail_usage([f"--output: unsupported suffix {suffix}; use {', '.join(SUFFIXES)}"])
    try:
        request = ScrapeRequest.model_validate(
            {
                "url": url,
                "export_formats": [main_format, *(formats or [])],
                "options": {
                    "max_pages": max_pages,
                    "max_depth": max_depth,
                    "rate_limit": rate_limit,
                    "concurrency": concurrency,
                    "render_js": render_js,
                    "respect_robots": not ignore_robots,
                },
            }
        )
    except ValidationError as exc:
        _fail_usage([_describe(error) for error in exc.errors()])
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
    if not result.crawl.pages:
        typer.echo("Error: no page was scraped", err=True)
        raise typer.Exit(1)


def _fail_usage(problems: list[str]) -> NoReturn:
    """Print one plain line per invalid input and exit with click's usage-error code."""
    for problem in problems:
        typer.echo(f"Error: {problem}", err=True)
    raise typer.Exit(2)


def _describe(error: ErrorDetails) -> str:
    """One pydantic error as ``OPTION: message``, named as the user typed it."""
    loc = [str(part) for part in error["loc"] if part != "options"]
    field = loc[0] if loc else ""
    option = _OPTION_NAMES.get(field, "--" + field.replace("_", "-"))
    template = _LIMITS.get(error["type"])
    ctx = error.get("ctx", {})
    if template is not None:
        message = template.format(**ctx)
    elif error["type"] == "value_error":
        message = str(ctx["error"])
    else:
        message = error["msg"]
    return f"{option}: {message}"


def _print_summary(console: Console, result: ScrapeResult) -> None:
    crawl = result.crawl
    stopped = f" (stopped: {crawl.stop_reason})" if crawl.stop_reason else ""
    console.print(
        f"{len(crawl.pages)} pages, {len(crawl.failed)} failed, {len(crawl.skipped)} skipped"
        + stopped
    )
    # Plain echo: URLs and reasons may contain [brackets] rich would read as markup.
    notes = [("failed", page) for page in crawl.failed] + [("skipped", p) for p in crawl.skipped]
    for what, page in notes[:LISTED_PAGES]:
        typer.echo(f"  {what}: {page.url} ({page.reason})", err=True)
    rest = Counter(f"{what}: {page.reason}" for what, page in notes[LISTED_PAGES:])
    if rest:
        summary = ", ".join(f"{count} {reason}" for reason, count in rest.most_common())
        typer.echo(f"  … and {rest.total()} more ({summary})", err=True)
    for file in result.files:
        if file.format != "page-markdown":
            console.print(f"wrote {file.path} ({file.size} bytes)")
