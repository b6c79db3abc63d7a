"""What modules build on: HTTP dependencies for their routes and the step contract for workflows.

A module imports these names from ``jobwerk.sdk``, never from ``jobwerk.api``; the layer contract
(``make lint``) fails when it does. Example::

    from jobwerk.sdk import AUTH, OperatorDep, Retry, StepContext, Workflow, responses
"""

from jobwerk.core.auth import Principal, Role
from jobwerk.core.context import Cancelled, InstanceConfig, StepContext
from jobwerk.core.runtime import Runtime
from jobwerk.core.states import FINISHED, SUCCEEDED, RunStatus
from jobwerk.core.workflow import Retry, Step, Workflow
from jobwerk.errors import AppError, Conflict, InvalidInput, Locked, NotFound
from jobwerk.sdk.deps import (
    AdminDep,
    OperatorDep,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
    ViewerDep,
    request_id,
    require,
)
from jobwerk.sdk.schemas import AUTH, ErrorRead, ExportFileRead, responses

__all__ = [
    "AUTH",
    "FINISHED",
    "SUCCEEDED",
    "AdminDep",
    "AppError",
    "Cancelled",
    "Conflict",
    "ErrorRead",
    "ExportFileRead",
    "InstanceConfig",
    "InvalidInput",
    "Locked",
    "NotFound",
    "OperatorDep",
    "Principal",
    "PrincipalDep",
    "Retry",
    "Role",
    "RunStatus",
    "Runtime",
    "RuntimeDep",
    "SessionDep",
    "Step",
    "StepContext",
    "ViewerDep",
    "Workflow",
    "request_id",
    "require",
    "responses",
]
