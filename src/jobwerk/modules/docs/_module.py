"""The docs module object: scrape workflows, the seed-003 HTTP API and ``jobwerk scrape``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobwerk.modules.base import Module

if TYPE_CHECKING:
    from jobwerk.sdk import Runtime, Workflow
    from jobwerk.storage.models import Instance


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

    async def health(self, runtime: Runtime, instance: Instance | None) -> dict[str, Any]:
        from .settings import DocsSettings

        settings = DocsSettings()
        chromium = await asyncio.to_thread(Path(settings.chromium_path).is_file)
        return {
            "docs": {
                "status": "ok",
                "chromium": chromium,
                "allow_hosts": len(settings.allow_hosts),
            }
        }

    async def startup(self, runtime: Runtime) -> None:
        from .workflows import remove_stale_crawls

        await asyncio.to_thread(remove_stale_crawls, runtime.settings.data_dir)


module = DocsModule()
