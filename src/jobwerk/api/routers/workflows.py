"""``GET /api/v1/workflows``: the registered workflows with their parameter JSON schemas.

The dashboard builds its trigger forms from these schemas; API clients can check parameters
before they start a run.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from jobwerk.sdk.deps import RuntimeDep, ViewerDep
from jobwerk.sdk.schemas import AUTH, responses

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"], responses=AUTH)


class StepInfo(BaseModel):
    name: str
    title: str


class WorkflowRead(BaseModel):
    name: str = Field(examples=["demo.example"])
    title: str
    description: str
    module: str
    steps: list[StepInfo]
    params_schema: dict[str, Any] = Field(description="JSON schema of the run parameters")


def _read(described: dict[str, Any]) -> WorkflowRead:
    return WorkflowRead(module=described["name"].split(".", 1)[0], **described)


@router.get("", summary="List workflows with their parameter schemas")
async def list_workflows(runtime: RuntimeDep, _: ViewerDep) -> list[WorkflowRead]:
    return [_read(workflow.describe()) for workflow in runtime.workflows]


@router.get("/{name}", summary="One workflow", responses=responses(404))
async def get_workflow(name: str, runtime: RuntimeDep, _: ViewerDep) -> WorkflowRead:
    return _read(runtime.workflows.get(name).describe())
