"""Response and request bodies of the docs module's HTTP API (seed 003)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jobwerk.sdk import ExportFileRead


class ScrapeJobCreated(BaseModel):
    """A queued scrape run; follow it at ``status_url`` or over the ``stream_url`` WebSocket."""

    job_id: str
    status: Literal["queued"] = "queued"
    status_url: str
    stream_url: str
    exports_url: str
    created_at: datetime


class SyncPageRead(BaseModel):
    url: str
    title: str
    depth: int


class FailedPageRead(BaseModel):
    url: str
    reason: str
    status_code: int | None = None


class SyncScrapeRead(BaseModel):
    """A small site scraped within the request: the combined Markdown and the page list."""

    url: str
    title: str
    markdown: str
    page_count: int
    pages: list[SyncPageRead]
    failed: list[FailedPageRead]
    truncated: bool = Field(description="max_pages or the time cap stopped the crawl early")
    stop_reason: str | None
    duration_seconds: float


class ConversionCreate(BaseModel):
    """Which export to convert; default source is the run's first Markdown export."""

    model_config = ConfigDict(extra="forbid")

    target_format: Literal["html", "pdf"]
    source: str | None = Field(None, min_length=1, max_length=500, examples=["docs.md"])


class ConversionRead(BaseModel):
    """A conversion is a ``docs.convert`` run; its files are that run's exports."""

    conversion_id: str
    status: str
    source_job_id: str
    source: str
    target_format: str
    progress: float
    error: str | None
    files: list[ExportFileRead]
    status_url: str
    created_at: datetime
    finished_at: datetime | None
