"""The dashboard: static ES-module single-page app and PWA files.

``create_app`` calls :func:`mount_dashboard` once its own routers are included.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Route

STATIC_DIR = Path(__file__).parent / "static"
INDEX_HTML = STATIC_DIR / "index.html"
# The shell must never be stale after an upgrade: browsers revalidate it on every load.
NO_CACHE = {"Cache-Control": "no-cache"}

__all__ = ["INDEX_HTML", "STATIC_DIR", "dashboard_page", "mount_dashboard", "wants_html"]


def wants_html(request: Request) -> bool:
    """True for a browser navigation (it accepts HTML), false for API clients."""
    return "text/html" in request.headers.get("accept", "")


def dashboard_page() -> FileResponse:
    """The dashboard's single HTML page."""
    return FileResponse(INDEX_HTML, media_type="text/html", headers=NO_CACHE)


async def _service_worker() -> FileResponse:
    # Served from the root so its scope covers the whole dashboard.
    return FileResponse(
        STATIC_DIR / "sw.js",
        media_type="text/javascript",
        headers={**NO_CACHE, "Service-Worker-Allowed": "/"},
    )


async def _manifest() -> FileResponse:
    manifest = STATIC_DIR / "manifest.webmanifest"
    return FileResponse(manifest, media_type="application/manifest+json", headers=NO_CACHE)


async def _page() -> Response:
    return dashboard_page()


def _has_get(routes: list[BaseRoute], path: str) -> bool:
    return any(
        isinstance(route, Route) and route.path == path and "GET" in (route.methods or ())
        for route in routes
    )


def mount_dashboard(app: FastAPI) -> None:
    """Add the dashboard to ``app``: ``/static``, ``/sw.js``, ``/manifest.webmanifest`` and,
    unless the app already answers them, ``GET /`` and ``GET /temu`` with the dashboard page."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="static")
    app.add_api_route("/sw.js", _service_worker, include_in_schema=False)
    app.add_api_route("/manifest.webmanifest", _manifest, include_in_schema=False)
    for path in ("/", "/temu"):
        if not _has_get(app.router.routes, path):
            app.add_api_route(path, _page, include_in_schema=False)
