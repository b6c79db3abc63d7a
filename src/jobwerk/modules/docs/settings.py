"""Operator settings of the docs module, from ``JOBWERK_DOCS__*`` environment variables (or .env).

``JOBWERK_DOCS__ALLOW_HOSTS``: comma-separated host names, IPs or CIDRs the scraper may reach
although they are private (the SSRF allow-list, e.g. an intranet docs server).
``JOBWERK_DOCS__SYNC_MAX_PAGES`` / ``JOBWERK_DOCS__SYNC_MAX_SECONDS``: the page and time caps of
``POST /api/v1/scrape/sync`` (bigger sites go through the asynchronous ``POST /api/v1/scrape``).
``JOBWERK_DOCS__CHROMIUM_PATH``: the Chromium used for JavaScript rendering and PDF export.
``JOBWERK_DOCS__WORKERS``: processes converting pages per scrape (default: one per CPU; 0 converts
in the server process itself).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .scraper import ScrapeSettings


class DocsSettings(BaseSettings):
    """The docs module's configuration; trusted input, never taken from a request."""

    model_config = SettingsConfigDict(
        env_prefix="JOBWERK_DOCS__", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    allow_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="SSRF allow-list: hosts, IPs or CIDRs"
    )
    sync_max_pages: int = Field(25, ge=1, le=1000, description="page cap of synchronous scrapes")
    sync_max_seconds: float = Field(60.0, gt=0, le=600, description="time cap of the same")
    chromium_path: str = "/usr/bin/chromium"
    workers: int | None = Field(None, ge=0, le=64, description="conversion processes per scrape")

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value

    def scrape_settings(self, *extra_hosts: str) -> ScrapeSettings:
        """Engine settings: strict SSRF defaults, opened only for the allow-listed targets."""
        hosts = [*self.allow_hosts, *extra_hosts]
        if not hosts:
            return ScrapeSettings(chromium_path=self.chromium_path, workers=self.workers)
        return ScrapeSettings.allowing(
            *hosts, chromium_path=self.chromium_path, workers=self.workers
        )
