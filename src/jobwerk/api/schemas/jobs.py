"""Schemas of ``/api/jobs``: configured jobs with their live status (seeds 000-002)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jobwerk.core.scheduler import MIN_INTERVAL_MINUTES

JobState = Literal["idle", "queued", "running", "success", "warning", "failed", "cancelled"]


class JobStatusRead(BaseModel):
    """The job's latest run in seed 000's shape (``success`` is a completed run, ``warning``
    one that completed with warnings)."""

    status: JobState
    last_run: datetime | None = Field(description="When the latest run started (or was queued)")
    next_run: datetime | None = Field(description="Next scheduled fire; null when disabled")
    last_error: str | None
    last_duration: float | None = Field(description="Seconds the latest finished run took")
    last_run_id: str | None
    progress: float | None = Field(description="Percent done of the latest run")
    last_success: datetime | None = Field(
        None, description="When the job's latest successful run finished (warnings or not)"
    )


class JobRead(BaseModel):
    job_id: str
    workflow: str
    title: str
    instance_id: str | None
    enabled: bool
    params: dict[str, Any]
    interval_minutes: float | None
    cron: str | None
    timezone: str
    status: JobStatusRead


class TriggerRead(BaseModel):
    status: Literal["triggered"] = "triggered"
    job_id: str
    run_id: str
    params: dict[str, Any] = Field(description="The validated parameters the run got")


class ScheduleUpdate(BaseModel):
    """Either an interval or a cron expression; both null removes the schedule."""

    model_config = ConfigDict(extra="forbid")

    interval_minutes: float | None = Field(
        None,
        le=527040,
        description=f"At least {MIN_INTERVAL_MINUTES:g} minutes (30 seconds)",
        examples=[30, 0.5],
    )
    cron: str | None = Field(None, max_length=120, examples=["*/15 8-18 * * 1-5"])
    timezone: str = Field("UTC", min_length=1, max_length=64, examples=["Europe/Berlin"])

    @field_validator("interval_minutes")
    @classmethod
    def _not_too_often(cls, value: float | None) -> float | None:
        if value is not None and not value >= MIN_INTERVAL_MINUTES:
            raise ValueError(
                f"an interval must be at least {MIN_INTERVAL_MINUTES:g} minutes (30 seconds); "
                f"{value:g} is shorter"
            )
        return value
