"""Schemas of ``/api/v1/system``: health, statistics, version and ping (seed 003)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class LivenessRead(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class HealthRead(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    uptime: float = Field(description="Seconds since the process started")
    dependencies: dict[str, dict[str, Any]] = Field(
        description="The database, the engine's parts and each module's own checks"
    )


class JobStats(BaseModel):
    runs_by_status: dict[str, int]
    runs_total: int
    active: int = Field(description="Runs executing in this process")
    configured_jobs: int
    enabled_jobs: int


class PerformanceStats(BaseModel):
    uptime: float
    http_requests: int
    websocket_clients: int
    concurrency: int


class ResourceStats(BaseModel):
    cpu_percent: float
    memory_rss_bytes: int
    threads: int
    disk_free_bytes: int


class StatsRead(BaseModel):
    jobs: JobStats
    performance: PerformanceStats
    resources: ResourceStats


class VersionRead(BaseModel):
    version: str
    api_version: Literal["v1"] = "v1"
    python: str


class PingRead(BaseModel):
    ping: Literal["pong"] = "pong"
    timestamp: str


class OverviewRead(BaseModel):
    service: str
    version: str
    docs: str
    health: str
