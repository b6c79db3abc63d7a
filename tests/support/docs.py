"""Docs-module test sites: real Sphinx/MkDocs builds and edge-case routes on a loopback server,
and scrape requests with fast politeness settings for crawling them."""

from __future__ import annotations

import asyncio
import base64
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from textwrap import dedent

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from jobwerk.modules.docs.scraper import ScrapeOptions, ScrapeRequest

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)

SPHINX_PAGES = {
    "conf.py": """
        project = "Widget"
        html_theme = "alabaster"
        exclude_patterns = ["_build"]
    """,
    "index.rst": """
        Widget documentation
        ====================

        Welcome to *Widget*, a tool with ``snake_case`` names.

        .. toctree::
           :maxdepth: 2

           intro
           guide/install
           guide/config
           api
    """,
    "intro.rst": """
        Introduction
        ============

        Widget turns sprockets into widgets. See :doc:`guide/install` to start.

        .. note::

           Widgets are fragile. Handle them with care.

        .. image:: logo.png
           :alt: Widget logo

        .. code-block:: python

           def make_widget(size: int) -> str:
               if size > 1:
                   return "big"
               return "small"
    """,
    "guide/install.rst": """
        Installation
        ============

        Install with pip:

        .. code-block:: bash

           pip install widget
           widget --version

        Supported platforms
        -------------------

        .. list-table:: Platforms
           :header-rows: 1

           * - OS
             - Status
             - Notes
           * - Linux
             - supported
             - pipes a|b in text
           * - macOS
             - beta
             - none

        .. warning::

           Windows is not supported.
    """,
    "guide/config.rst": """
        Configuration
        =============

        Widget reads ``widget.json``:

        .. code-block:: json

           {"size": 3, "colour": "red"}

        With line numbers:

        .. code-block:: yaml
           :linenos:

           size: 3
           colour: red

        Back to :doc:`../intro`.
    """,
    "api.rst": """
        API reference
        =============

        .. code-block:: javascript

           const widget = makeWidget(3);

        ==========  =======
        Function    Returns
        ==========  =======
        make        Widget
        destroy     None
        ==========  =======
    """,
}

MKDOCS_PAGES = {
    "mkdocs.yml": """
        site_name: Gadget
        use_directory_urls: true
        markdown_extensions:
          - admonition
          - tables
          - fenced_code
        nav:
          - Home: index.md
          - Guide:
              - Install: guide/install.md
              - Usage: guide/usage.md
          - Reference: reference.md
    """,
    "docs/index.md": """
        # Gadget

        Gadget is a *gadget*. Read the [install guide](guide/install.md).

        ![Gadget logo](logo.png)
    """,
    "docs/guide/install.md": """
        # Install

        ```bash
        pip install gadget
        ```

        !!! tip "Pro tip"
            Use a virtualenv.

        | Option | Default |
        | ------ | ------- |
        | fast   | `true`  |
        | debug  | `false` |
    """,
    "docs/guide/usage.md": """
        # Usage

        ```python
        import gadget

        gadget.run(  # indented call
            fast=True,
        )
        ```

        ```rust
        fn main() { println!("gadget"); }
        ```

        See the [reference](../reference.md#functions).
    """,
    "docs/reference.md": """
        # Reference

        ## Functions

        ```go
        func Run() error
        ```
    """,
}


def _write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")


def build_sphinx(workdir: Path) -> Path:
    """Build the Sphinx site in a subprocess (keeps its warnings out of pytest)."""
    source = workdir / "sphinx-src"
    _write_tree(source, SPHINX_PAGES)
    (source / "logo.png").write_bytes(PNG)
    out = workdir / "sphinx-html"
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(source), str(out)],
        check=True,
        capture_output=True,
    )
    return out


def build_mkdocs(workdir: Path) -> Path:
    """Build the MkDocs site in a subprocess."""
    source = workdir / "mkdocs-src"
    _write_tree(source, MKDOCS_PAGES)
    (source / "docs" / "logo.png").write_bytes(PNG)
    out = workdir / "mkdocs-html"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "-q",
            "-f",
            str(source / "mkdocs.yml"),
            "-d",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


class ServerState:
    """Mutable knobs of the edge-case routes (counters for 429s, robots text)."""

    def __init__(self) -> None:
        self.throttled: dict[str, int] = {}
        self.robots = "User-agent: *\nDisallow: /edge/private/\nDisallow: /*?lang=\n"
        self.robots_status = 200


def edge_routes(state: ServerState) -> list[Route]:
    """Hand-made pages for robots, redirects, loops, size, speed, throttling and encodings."""

    def page(title: str, body: str) -> str:
        head = f"<head><title>{title}</title></head>"
        return f"<html>{head}<body><main><h1>{title}</h1>{body}</main></body></html>"

    async def robots(_: Request) -> Response:
        text = state.robots + "Sitemap: /sitemap-index.xml\n"
        return PlainTextResponse(text, status_code=state.robots_status)

    async def sitemap_index(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        xml = (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/sitemap-edge.xml</loc></sitemap></sitemapindex>"
        )
        return Response(xml, media_type="application/xml")

    async def sitemap_edge(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        locs = "".join(
            f"<url><loc>{base}{p}</loc></url>" for p in ("/edge/sitemap-only.html", "/outside.html")
        )
        xml = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
        return Response(xml, media_type="application/xml")

    async def index(_: Request) -> Response:
        links = "".join(
            f'<li><a href="{href}">{href}</a></li>'
            for href in (
                "loop-a.html",
                "loop-b.html#frag",
                "./index.html",
                "private/secret.html",
                "redirect-in.html",
                "redirect-out.html",
                "huge.html",
                "latin1.html",
                "file.pdf.html",
                "throttled.html",
                "docs.pdf",
                "page.html?lang=de",
                "https://example.org/elsewhere",
                "/outside.html",
                "missing.html",
                "noindex.html",
            )
        )
        return Response(page("Edge index", f"<ul>{links}</ul>"), media_type="text/html")

    async def simple(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "slow":
            await asyncio.sleep(1.0)
        body = f"<p>Page {name}.</p><p><a href='loop-a.html'>a</a> <a href='loop-b.html'>b</a></p>"
        return Response(page(name.title(), body), media_type="text/html")

    async def redirect_in(_: Request) -> Response:
        return RedirectResponse("/edge/target.html", status_code=301)

    async def redirect_out(_: Request) -> Response:
        return RedirectResponse("https://example.org/away", status_code=302)

    async def redirect_private(request: Request) -> Response:
        port = request.url.port
        return RedirectResponse(f"http://127.0.0.1:{port}/edge/target.html", status_code=302)

    async def redirect_metadata(_: Request) -> Response:
        return RedirectResponse("http://169.254.169.254/latest/meta-data/", status_code=302)

    async def huge(_: Request) -> Response:
        return Response(page("Huge", "<p>" + "x" * 3_000_000 + "</p>"), media_type="text/html")

    async def latin1(_: Request) -> Response:
        body = page("Café", "<p>Größe und Maß: naïve façade.</p>").encode("latin-1")
        return Response(body, media_type="text/html; charset=iso-8859-1")

    async def not_html(_: Request) -> Response:
        return Response(b"%PDF-1.4 fake", media_type="application/pdf")

    async def throttled(request: Request) -> Response:
        hits = state.throttled.get(request.url.path, 0)
        state.throttled[request.url.path] = hits + 1
        if hits == 0:
            return Response("slow down", status_code=429, headers={"Retry-After": "1"})
        return Response(page("Throttled", "<p>Finally served.</p>"), media_type="text/html")

    async def noindex(_: Request) -> Response:
        head = '<meta name="robots" content="noindex">'
        return Response(
            f"<html><head>{head}</head><body><main><p>hidden</p></main></body></html>",
            media_type="text/html",
        )

    async def missing(_: Request) -> Response:
        return Response("gone", status_code=404)

    return [
        Route("/robots.txt", robots),
        Route("/sitemap-index.xml", sitemap_index),
        Route("/sitemap-edge.xml", sitemap_edge),
        Route("/edge/", index),
        Route("/edge/index.html", index),
        Route("/edge/redirect-in.html", redirect_in),
        Route("/edge/redirect-out.html", redirect_out),
        Route("/edge/redirect-private.html", redirect_private),
        Route("/edge/redirect-metadata.html", redirect_metadata),
        Route("/edge/huge.html", huge),
        Route("/edge/latin1.html", latin1),
        Route("/edge/file.pdf.html", not_html),
        Route("/edge/throttled.html", throttled),
        Route("/edge/noindex.html", noindex),
        Route("/edge/missing.html", missing),
        Route("/edge/{name}.html", simple),
        Route("/outside.html", simple),
    ]


def make_app(sphinx_dir: Path, mkdocs_dir: Path, state: ServerState) -> Starlette:
    """The loopback server: both built sites plus the edge routes."""
    return Starlette(
        routes=[
            *edge_routes(state),
            Mount("/sphinx", StaticFiles(directory=sphinx_dir, html=True)),
            Mount("/mkdocs", StaticFiles(directory=mkdocs_dir, html=True)),
        ]
    )


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on 127.0.0.1; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="error", lifespan="off", ws="none", access_log=False, timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def make_request(url: str, **options: object) -> ScrapeRequest:
    """A request with fast politeness settings for loopback crawls."""
    merged: dict[str, object] = {"concurrency": 4, "rate_limit": 20.0, **options}
    return ScrapeRequest(url=url, options=ScrapeOptions.model_validate(merged))
