"""Schemas of ``/api/v1/exports``: the export files of any run."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from jobwerk.core.exports import ExportEntry

EXPORTS_URL = "/api/v1/exports"


class ExportFileRead(BaseModel):
    name: str = Field(description="file name inside the run's exports (may contain folders)")
    size: int
    content_type: str
    title: str
    recorded: bool = Field(description="listed in the run's result as an export")
    modified_at: datetime
    download_url: str

    @classmethod
    def of(cls, run_id: str, entry: ExportEntry) -> ExportFileRead:
        return cls(
            name=entry.name,
            size=entry.size,
            content_type=entry.content_type,
            title=entry.title,
            recorded=entry.listed,
            modified_at=entry.modified_at,
            download_url=f"{EXPORTS_URL}/{run_id}/{entry.name}",
        )


class ExportMetadataRead(BaseModel):
    job_id: str
    workflow: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    file_count: int
    total_size: int
    files: list[ExportFileRead]


class ExportsDeleted(BaseModel):
    job_id: str
    deleted_files: int
    freed_bytes: int
