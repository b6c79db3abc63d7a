"""Request and response shapes of the module manager (seed 004's names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from jobwerk.manager.operations import OperationStatus

InstanceStatus = Literal["installed", "running", "stopped", "error"]


class RepositoryStats(BaseModel):
    total_modules: int
    installed_modules: int


class RepositoryRead(BaseModel):
    id: str
    name: str
    type: Literal["file-based", "https"]
    url: str
    path: str | None
    enabled: bool
    ca_file: str | None
    error: str | None = Field(description="Why the catalog could not be read, if it could not")
    stats: RepositoryStats


class RepositoryCreate(BaseModel):
    id: str = Field(description="Lower-case id, e.g. 'local-modules'", max_length=64)
    url: str = Field(description="file:///absolute/folder or https://host/path", max_length=2000)
    name: str | None = Field(None, max_length=200)
    ca_file: str | None = Field(
        None, max_length=2000, description="PEM file of a private CA to trust for this repository"
    )
    enabled: bool = True


class CatalogModuleRead(BaseModel):
    name: str
    version: str
    display_name: str
    description: str
    author: str
    category: str
    requires_jobwerk: str
    contract_version: int
    sha256: str
    hash: str
    archive: str
    size: int | None
    repository_id: str
    installed: bool
    installed_version: str | None
    status: Literal["installed", "available", "incompatible"]
    compatible: bool
    incompatible_reason: str | None


class CatalogRead(BaseModel):
    modules: list[CatalogModuleRead]
    total: int
    categories: dict[str, int]


class InstallRequest(BaseModel):
    module_name: str = Field(max_length=200)
    repository_id: str | None = Field(None, max_length=200)
    version: str | None = Field(None, max_length=100, description="Default: newest that fits")


class RepositoryRef(BaseModel):
    type: str | None = None
    url: str | None = None


class UpdateRequest(InstallRequest):
    instance_id: str | None = Field(
        None, description="Accepted for VYRA clients; modules update as a whole"
    )
    repository: RepositoryRef | None = None


class InstanceCreate(BaseModel):
    module_name: str = Field(max_length=200)
    name: str | None = Field(None, max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict)
    set_primary: bool = False
    repository_id: str | None = Field(None, description="Accepted for VYRA clients; unused")
    version: str | None = Field(None, description="Accepted for VYRA clients; unused")
    instance_id: str | None = Field(None, description="Accepted for VYRA clients; unused")


class InstanceUpdate(BaseModel):
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Changed settings; omitted secrets keep their value"
    )
    name: str | None = Field(None, max_length=200)


class OperationStep(BaseModel):
    id: str
    title: str
    status: Literal["pending", "running", "done", "failed", "skipped"]
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


class OperationRead(BaseModel):
    operation_id: str
    operation_type: str
    status: OperationStatus
    progress: int = Field(ge=0, le=100)
    message: str
    module_name: str
    instance_id: str | None
    status_url: str
    steps: list[OperationStep]
    error: str | None
    rolled_back: bool
    restart_required: bool
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    completed_at: datetime | None
    prompts: list[Any]


class OperationList(BaseModel):
    operations: list[OperationRead]
    total: int


class CancelRead(BaseModel):
    success: bool
    operation_id: str
    message: str


class InstanceRead(BaseModel):
    instance_id: str
    module_name: str
    name: str
    path: str
    version: str | None
    status: InstanceStatus
    is_primary: bool
    enabled: bool
    frontend_url: str | None
    settings: dict[str, Any]
    secrets: dict[str, bool] = Field(description="Which secrets are set (values are write-only)")
    jobs: list[str]
    created_at: datetime
    updated_at: datetime


class InstancesRead(BaseModel):
    modules: dict[str, list[InstanceRead]]
    total_modules: int
    total_instances: int


class PrimaryInstance(BaseModel):
    instance_id: str
    status: InstanceStatus
    version: str | None


class PrimaryRead(BaseModel):
    module_name: str
    primary_instance: PrimaryInstance
    message: str


class ModuleRead(BaseModel):
    name: str
    status: str
    error: str | None
    version: str | None
    title: str
    description: str
    workflows: list[str]
    has_instances: bool
    source: Literal["builtin", "installed"]
    previous_version: str | None
    repository_id: str | None


class ModulesRead(BaseModel):
    modules: list[ModuleRead]
    total: int


class StatusRead(BaseModel):
    status: Literal["ok", "degraded"]
    service: str
    version: str
    uptime_seconds: float
    database: str
    tls: bool
    data_dir: str
    modules: dict[str, int]
    repositories: int
    operations: dict[str, int]
    instances: int
