"""Schemas of ``/api/v1/jobs``: runs of workflows with steps and logs (seed 003)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from jobwerk.api.schemas.common import Pagination


class StepRead(BaseModel):
    name: str
    position: int
    status: str
    attempt: int
    progress: float
    done: int
    total: int | None
    counters: dict[str, Any]
    message: str | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None


class ProgressRead(BaseModel):
    percent_complete: float
    current_step: str | None
    steps_done: int
    steps_total: int


class RunRead(BaseModel):
    id: str = Field(description="The run's id")
    job_id: str | None = Field(description="The configured job this run belongs to")
    workflow: str
    instance_id: str | None
    status: str = Field(
        description="queued, running, completed, completed_with_warnings, failed or cancelled"
    )
    trigger: str = Field(description="How it started: api, cli, schedule, retry, demo")
    started_by: str | None = Field(
        description="Who started it: `user:NAME`, `key:NAME` or `cli:OS-USER`; null for schedules"
    )
    progress: float
    current_step: str | None
    reason: str | None
    error: str | None
    retry_of: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None


class RunDetailRead(RunRead):
    params: dict[str, Any]
    result: dict[str, Any]
    request_id: str | None
    progress_detail: ProgressRead
    steps: list[StepRead]


class RunList(BaseModel):
    jobs: list[RunRead]
    pagination: Pagination


class RunDeleted(BaseModel):
    id: str
    action: str = Field(description="'cancelled' (an active run was asked to stop) or 'deleted'")
    status: str | None


class LogRead(BaseModel):
    id: int
    run_id: str
    step: str | None
    level: str
    message: str
    data: dict[str, Any] | None
    created_at: datetime


class LogList(BaseModel):
    logs: list[LogRead]
    pagination: Pagination
