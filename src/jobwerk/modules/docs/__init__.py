"""Documentation scraper: crawl a docs site, extract its content, export Markdown/JSON/HTML/PDF."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jobwerk.core.runtime import Runtime
from jobwerk.core.workflow import Workflow
from jobwerk.modules.base import Module


class DocsModule(Module):
    """The ``docs`` module: scrape workflows, the seed-003 HTTP API and ``jobwerk scrape``."""

    name = "docs"
    version = "1.0.0"
    title = "Documentation scraper"
    description = "Crawls documentation sites and exports Markdown, JSON, HTML or PDF."

    def workflows(self) -> Sequence[Workflow[Any]]:
        from .workflows import WORKFLOWS

        return WORKFLOWS

    def routers(self) -> Sequence[Any]:
        from .router import ROUTERS

        return ROUTERS

    def cli(self) -> Callable[..., None]:
        from .command import scrape

        return scrape

    async def startup(self, runtime: Runtime) -> None:
        from .workflows import services

        services.runtime = runtime

    async def shutdown(self, runtime: Runtime) -> None:
        from .workflows import services

        if services.runtime is runtime:
            services.runtime = None


module = DocsModule()
