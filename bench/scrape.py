"""Benchmark: crawl documentation sites on loopback and export them.

Sites: the 601-page MkDocs build, a generated Sphinx-style site of 541 long API pages and its
5,101-page variant. Exports: combined Markdown, JSON and the per-page files (``--html`` adds the
HTML export). One line per site: pages/s end to end (crawl and exports), CPU ms per page of the
scraper's processes (the crawling process and its conversion workers, not the HTTP server nor
the memory sampler), peak RSS of the crawling process, peak PSS of it plus its workers (shared
pages counted once), whether every code block and table survived, and a checksum of all output
files (run-specific values masked) so a speed-up provably changes nothing. Each scrape runs in a
fresh process; the loopback host is unthrottled and keeps connections alive (HTTP/1.1).

``--server`` scrapes each site as a user does instead: one ``POST /api/v1/scrape`` to a fresh
``jobwerk serve`` process, polled until the run ends, then again (a re-crawl with the docs
cache). Two lines per site: figures of the server's process tree (the server and its workers),
pages/s from the request to the run's end, peak RSS of the server process. Checksums differ
from the library mode's (the server names the files after the start URL, not ``bench``) and a
re-crawl's from the first's (its pages are marked ``same``).

Usage: python bench/scrape.py [--sites mkdocs,sphinx,sphinx-5k] [--repeat N] [--html] [--server]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import psutil

from _docs_sites import Site, build_mkdocs, build_sphinx
from jobwerk.modules.docs.scraper import (
    ExportFormat,
    ScrapeOptions,
    ScrapeRequest,
    ScrapeSettings,
    scrape,
)

SITES = {
    "mkdocs": lambda root: build_mkdocs(root / "mkdocs-project"),
    "sphinx": lambda root: build_sphinx(root / "sphinx", sections=20, pages=26),
    "sphinx-5k": lambda root: build_sphinx(root / "sphinx-5k", 50, 101, "sphinx-5k"),
}
FORMATS = [ExportFormat.MARKDOWN, ExportFormat.JSON]
# Per run: timestamps, the server's port, file dates, and page hashes (of Markdown whose links
# carry the port; the Markdown itself is checksummed).
_VOLATILE = re.compile(
    rb"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC|127\.0\.0\.1:\d+|\"duration_seconds\": [\d.]+"
    rb'|"(?:generated_at|crawled_at|last_modified|hash)": "[^"]*"'
)


@contextlib.contextmanager
def http_server(directory: Path) -> Iterator[str]:
    """Serve ``directory`` with the stdlib threading HTTP server in a separate process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # HTTP/1.1 keeps connections alive, as documentation hosts do (HTTP/1.0 closes each one).
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    command += ["--protocol", "HTTP/1.1"]
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


class Sampler(threading.Thread):
    """Samples memory (PSS) and CPU time of a process (this one unless ``root`` is given) and
    its descendants (the workers).

    Reading a process's memory map costs CPU: ``own_cpu`` is the sampler's, which is not the
    scraper's and is subtracted from the figures when the sampled process is this one.
    """

    def __init__(self, root: psutil.Process | None = None, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root = root or psutil.Process()
        self.interval = interval
        self.peak_total_pss = 0
        self.child_cpu: dict[int, float] = {}
        self.own_cpu = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        me = self.root
        started = time.thread_time()
        while not self._done.wait(self.interval):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_full_info().pss  # shared pages counted once
                    if proc.pid != me.pid:
                        self.child_cpu[proc.pid] = cpu_seconds(proc)
            self.peak_total_pss = max(self.peak_total_pss, total)
            self.own_cpu = time.thread_time() - started

    def stop(self) -> None:
        self._done.set()
        self.join()


def cpu_seconds(proc: psutil.Process) -> float:
    """User plus system CPU seconds of a process so far."""
    times = proc.cpu_times()
    return times.user + times.system


def reset_peak_rss(pid: int) -> None:
    """Start a new peak RSS of a process (Linux keeps one, ``VmHWM``; sampling misses spikes)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss(pid: int) -> int:
    """The peak RSS of a process since its start or last ``reset_peak_rss``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no VmHWM for process {pid}")


def checksum(out: Path) -> tuple[str, list[str]]:
    """SHA-256 over every output file (sorted by path) with volatile values masked."""
    digest = hashlib.sha256()
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    for name in names:
        digest.update(name.encode() + b"\0")
        with (out / name).open("rb") as handle:
            for line in handle:
                digest.update(_VOLATILE.sub(b"~", line))
    return digest.hexdigest()[:16], names


def intact(markdown: Path, site: dict[str, Any]) -> tuple[bool, int, int]:
    """Whether the combined Markdown has every code fence and table of the site."""
    fences = tables = 0
    header = str(site["table_header"])
    with markdown.open(encoding="utf-8") as handle:
        for line in handle:
            fences += line.startswith("```")
            tables += line.startswith(header)
    return fences == 2 * site["fences"] and tables == site["tables"], fences, tables


async def run_scrape(url: str, out: Path, html: bool) -> dict[str, object]:
    """One scrape with its exports; figures of this process and its workers."""
    request = ScrapeRequest(
        url=url,
        export_formats=[*FORMATS, ExportFormat.HTML] if html else FORMATS,
        options=ScrapeOptions(max_pages=10_000, concurrency=16),
    )
    settings = ScrapeSettings.allowing("127.0.0.1", unthrottled_hosts=frozenset({"127.0.0.1"}))
    sampler = Sampler()
    sampler.start()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = await scrape(request, out, settings, base_name="bench")
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    sampler.stop()
    own_cpu = usage.ru_utime + usage.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    own_cpu -= sampler.own_cpu
    return {
        "pages": len(result.crawl.pages),
        "failed": len(result.crawl.failed),
        "skipped": len(result.crawl.skipped),
        "crawl_seconds": result.crawl.duration_seconds,
        "wall": wall,
        "cpu": own_cpu + sum(sampler.child_cpu.values()),
        "rss_main": usage.ru_maxrss * 1024,
        "pss_total": sampler.peak_total_pss,
    }


def child(url: str, out: Path, site: dict[str, Any]) -> None:
    """The measured process: scrape, then check and checksum the outputs; prints JSON."""
    figures = asyncio.run(run_scrape(url, out, site["html"]))
    ok, fences, tables = intact(out / "bench.md", site)
    digest, names = checksum(out)
    figures.update(intact=ok, fences=fences, tables=tables, checksum=digest, files=len(names))
    print(json.dumps(figures))


def spec(site: Site, html: bool) -> dict[str, Any]:
    """What ``intact`` checks of a site, and whether HTML is exported."""
    return {
        "fences": site.fences,
        "tables": site.tables,
        "table_header": site.table_header,
        "html": html,
    }


def measure(site: Site, base_url: str, out: Path, html: bool) -> dict[str, float | str | bool]:
    """Run one scrape of ``site`` in a fresh interpreter and read its figures."""
    args = [sys.executable, __file__, "--child", f"{base_url}/{site.name}{site.start}"]
    specs = json.dumps(spec(site, html))
    completed = subprocess.run([*args, str(out), specs], capture_output=True, text=True)
    if completed.returncode:
        raise SystemExit(f"{site.name}: the scrape failed\n{completed.stderr}")
    figures: dict[str, float | str | bool] = json.loads(completed.stdout.splitlines()[-1])
    return figures


class Server(NamedTuple):
    """A running ``jobwerk serve``: a client with an admin key, its process, its data folder."""

    client: httpx.AsyncClient
    process: psutil.Process
    data_dir: Path


@contextlib.asynccontextmanager
async def jobwerk_server(data_dir: Path) -> AsyncIterator[Server]:
    """A ``jobwerk serve`` process with the docs module on ``data_dir``; its log is printed
    after it stops if it wrote one."""
    # Imported here: the library mode's measured process must not hold the server's modules.
    from api import jobwerk_serve, seed

    key = await seed(data_dir, runs=0)
    env = {"JOBWERK_MODULES": '["docs"]', "JOBWERK_DOCS__ALLOW_HOSTS": "127.0.0.1"}
    log = data_dir / "server.log"
    try:
        with log.open("wb") as handle:
            async with jobwerk_serve(data_dir, env, stderr=handle) as (port, pid):
                base = f"http://127.0.0.1:{port}"
                headers = {"X-API-Key": key}
                async with httpx.AsyncClient(base_url=base, headers=headers) as client:
                    yield Server(client, psutil.Process(pid), data_dir)
    finally:
        if text := log.read_text(errors="replace").strip():
            print(f"server log:\n{text}", file=sys.stderr)


async def scrape_on_server(
    server: Server, url: str, site: Site, html: bool
) -> dict[str, float | str | bool]:
    """One ``POST /api/v1/scrape``, polled until its run ends: figures of the server's process
    tree, then the checks of the run's export folder."""
    from jobwerk.core.states import FINISHED, SUCCEEDED

    formats = [*FORMATS, ExportFormat.HTML] if html else FORMATS
    body = {
        "url": url,
        "export_formats": [fmt.value for fmt in formats],
        "options": {"max_pages": 10_000, "concurrency": 16, "rate_limit": 0},
    }
    tree = server.process
    children_before = {proc.pid: cpu_seconds(proc) for proc in tree.children(recursive=True)}
    cpu_before = cpu_seconds(tree)
    reset_peak_rss(tree.pid)
    sampler = Sampler(tree)
    sampler.start()
    started = time.perf_counter()
    answer = await server.client.post("/api/v1/scrape", json=body)
    answer.raise_for_status()
    run_id = answer.json()["job_id"]
    while True:
        run = (await server.client.get(f"/api/v1/jobs/{run_id}")).json()
        if run["status"] in FINISHED:
            break
        await asyncio.sleep(0.1)
    wall = time.perf_counter() - started
    cpu = cpu_seconds(tree) - cpu_before
    rss = peak_rss(tree.pid)
    sampler.stop()
    cpu += sum(
        seconds - children_before.get(pid, 0.0) for pid, seconds in sampler.child_cpu.items()
    )
    if run["status"] not in SUCCEEDED:
        raise SystemExit(f"{site.name}: the run {run['status']}: {run['error'] or run['reason']}")
    result = run["result"]
    exports = server.data_dir / "exports" / run_id
    markdown = next(entry["name"] for entry in result["exports"] if entry["name"].endswith(".md"))
    ok, fences, tables = intact(exports / markdown, spec(site, html))
    digest, names = checksum(exports)
    return {
        "pages": result["pages"],
        "failed": result["pages_failed"],
        "skipped": result["pages_skipped"],
        "crawl_seconds": result["duration_seconds"],
        "wall": wall,
        "cpu": cpu,
        "rss_main": rss,
        "pss_total": sampler.peak_total_pss,
        "intact": ok,
        "fences": fences,
        "tables": tables,
        "checksum": digest,
        "files": len(names),
    }


async def measure_on_server(
    site: Site, base_url: str, data_dir: Path, html: bool
) -> list[dict[str, float | str | bool]]:
    """A first scrape of ``site`` and a re-crawl (with the docs cache) on a fresh server whose
    data folder ``data_dir`` exists."""
    url = f"{base_url}/{site.name}{site.start}"
    async with jobwerk_server(data_dir) as server:
        return [await scrape_on_server(server, url, site, html) for _ in range(2)]


def report(
    site: Site, runs: list[dict[str, float | str | bool]], html: bool, label: str = ""
) -> str:
    """One line of figures (medians over the runs)."""

    def median(key: str) -> float:
        return statistics.median(float(run[key]) for run in runs)

    pages = median("pages")
    checksums = sorted({str(run["checksum"]) for run in runs})
    load = ", ".join(f"{x:.2f}" for x in psutil.getloadavg())
    return (
        f"docs scrape {site.name} ({'Markdown, JSON, HTML' if html else 'Markdown, JSON'})"
        f"{label}: "
        f"{pages:.0f}/{site.pages} pages, "
        f"{pages / median('wall'):.1f} pages/s end to end "
        f"({pages / median('crawl_seconds'):.1f} crawling), "
        f"CPU {1000 * median('cpu') / pages:.1f} ms/page, "
        f"peak RSS {median('rss_main') / 2**20:.0f} MiB "
        f"(PSS with workers {median('pss_total') / 2**20:.0f} MiB), "
        f"failed {median('failed'):.0f}, skipped {median('skipped'):.0f}, "
        f"code blocks and tables intact: {'yes' if all(r['intact'] for r in runs) else 'NO'}, "
        f"checksum {' '.join(checksums)}, {len(runs)} run(s), load {load}"
    )


def report_server(site: Site, base_url: str, outputs: Path, args: argparse.Namespace) -> None:
    """Print the first scrapes' and the re-crawls' line, each over ``--repeat`` servers."""
    pairs = []
    for i in range(args.repeat):
        data_dir = outputs / f"{site.name}-server-{i}"
        data_dir.mkdir(parents=True, exist_ok=True)
        pairs.append(asyncio.run(measure_on_server(site, base_url, data_dir, args.html)))
    for index, label in enumerate(("first", "re-crawl")):
        runs = [pair[index] for pair in pairs]
        print(report(site, runs, args.html, f" via jobwerk serve, {label}"), flush=True)


def main() -> None:
    """Build the sites, serve them, scrape each ``--repeat`` times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sites", default=",".join(SITES), help="comma-separated: " + ",".join(SITES)
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per site (medians printed)")
    parser.add_argument("--html", action="store_true", help="also export HTML")
    parser.add_argument("--out", type=Path, help="keep the exports in this folder (for diffs)")
    parser.add_argument("--server", action="store_true", help="scrape through jobwerk serve")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, out, spec = args.child
        child(url, Path(out), json.loads(spec))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "www"
        sites = [SITES[name](root) for name in args.sites.split(",")]
        for site in sites:
            if site.root != root / site.name:
                (root / site.name).symlink_to(site.root, target_is_directory=True)
        outputs = args.out or Path(tmp)
        with http_server(root) as base_url:
            for site in sites:
                if args.server:
                    report_server(site, base_url, outputs, args)
                    continue
                runs = [
                    measure(site, base_url, outputs / f"{site.name}-{i}", args.html)
                    for i in range(args.repeat)
                ]
                print(report(site, runs, args.html), flush=True)


if __name__ == "__main__":
    main()
