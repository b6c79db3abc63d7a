"""Benchmark: crawl a generated 600-page MkDocs site on loopback into one combined Markdown file.

Prints one line: pages/s, peak RSS, wall time to the combined Markdown, and whether every code
block and table survived. Politeness is relaxed for loopback only (unthrottled host).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from jobwerk.modules.docs.scraper import (
    ScrapeOptions,
    ScrapeRequest,
    ScrapeSettings,
    scrape,
)

SECTIONS = 20
PAGES_PER_SECTION = 30
LANGUAGES = ("python", "bash", "json", "rust", "go", "yaml")


def page_text(section: int, page: int) -> str:
    """One generated page: prose, two code blocks, a table, links to neighbours."""
    lang_a = LANGUAGES[page % len(LANGUAGES)]
    lang_b = LANGUAGES[(page + 1) % len(LANGUAGES)]
    rows = "\n".join(f"| opt_{i} | `{i * page}` | value {i} |" for i in range(6))
    nxt = f"page-{page + 1}.md" if page + 1 < PAGES_PER_SECTION else "../index.md"
    return f"""# Section {section} page {page}

Intro paragraph for page {page} of section {section}, with *emphasis* and `inline_code`.
See the [next page]({nxt}) and the [home page](../index.md).

```{lang_a}
def example_{page}(value):
    if value > {page}:
        return value * 2
    return value
```

| Option | Default | Meaning |
| ------ | ------- | ------- |
{rows}

```{lang_b}
echo "section {section} page {page}"
```

Closing words for page {page}.
"""


def build_site(root: Path) -> Path:
    """Write and build the MkDocs project (in a subprocess); returns the HTML folder."""
    docs = root / "docs"
    nav = ["  - Home: index.md"]
    links = []
    for section in range(SECTIONS):
        nav.append(f"  - Section {section}:")
        links.append(f"- [Section {section}](s{section}/page-0.md)")
        for page in range(PAGES_PER_SECTION):
            path = docs / f"s{section}" / f"page-{page}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page_text(section, page), encoding="utf-8")
            nav.append(f"    - Page {page}: s{section}/page-{page}.md")
    (docs / "index.md").write_text("# Bench docs\n\n" + "\n".join(links) + "\n", encoding="utf-8")
    config = "site_name: Bench\ntheme: readthedocs\nnav:\n" + "\n".join(nav) + "\n"
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    out = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "-q",
            "-f",
            str(root / "mkdocs.yml"),
            "-d",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


@contextlib.contextmanager
def http_server(directory: Path) -> Iterator[str]:
    """Serve ``directory`` with the stdlib threading HTTP server in a separate process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen(
        [*command, "--directory", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


async def run(base_url: str, out: Path) -> None:
    """Crawl, export the combined Markdown and print the figures."""
    total_pages = SECTIONS * PAGES_PER_SECTION + 1
    request = ScrapeRequest(
        url=f"{base_url}/",
        options=ScrapeOptions(max_pages=2000, concurrency=16, rate_limit=20.0),
    )
    settings = ScrapeSettings.allowing("127.0.0.1", unthrottled_hosts=frozenset({"127.0.0.1"}))
    started = time.perf_counter()
    result = await scrape(request, out, settings, base_name="bench")
    wall = time.perf_counter() - started
    crawl = result.crawl
    combined = next(f for f in result.files if f.format == "markdown").path.read_text()
    fences = sum(1 for line in combined.splitlines() if line.startswith("```"))
    tables = combined.count("| Option | Default | Meaning |\n| --- | --- | --- |")
    content_pages = SECTIONS * PAGES_PER_SECTION
    intact = fences == 4 * content_pages and tables == content_pages
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"docs scrape: {len(crawl.pages)}/{total_pages} pages, "
        f"{len(crawl.pages) / crawl.duration_seconds:.1f} pages/s, "
        f"peak RSS {peak_mib:.0f} MiB, wall to combined Markdown {wall:.2f} s, "
        f"failed {len(crawl.failed)}, code blocks and tables intact: {'yes' if intact else 'NO'} "
        f"({fences // 2} fences, {tables} tables)"
    )


def main() -> None:
    """Build, serve, crawl."""
    with tempfile.TemporaryDirectory() as tmp:
        site = build_site(Path(tmp) / "project")
        with http_server(site) as base_url:
            asyncio.run(run(base_url, Path(tmp) / "out"))


if __name__ == "__main__":
    main()
