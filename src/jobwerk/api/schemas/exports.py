"""Schemas of ``/api/v1/exports``: the export files of any run (one file is an
``ExportFileRead``, which module routes use as well)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from jobwerk.sdk.schemas import ExportFileRead


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
