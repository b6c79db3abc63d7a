"""HTTP routes of the module manager (seed 004): repositories, operations, instances, the
operations stream, ``/status`` and the legacy ``/api/modules`` routes. ``include_manager``
wires them into the app."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response, WebSocket
from fastapi.responses import JSONResponse

from jobwerk.core.runtime import Runtime
from jobwerk.errors import AppError, Conflict
from jobwerk.manager import _stream, instances, operations, repositories, views
from jobwerk.manager._safety import check_module_name
from jobwerk.manager.module_manager import ModuleManager
from jobwerk.manager.schemas import (
    CancelRead,
    CatalogRead,
    InstallRequest,
    InstanceCreate,
    InstanceRead,
    InstancesRead,
    InstanceUpdate,
    ModulesRead,
    OperationList,
    OperationRead,
    PrimaryRead,
    RepositoryCreate,
    RepositoryRead,
    StatusRead,
    UpdateRequest,
)
from jobwerk.modules.registry import ModuleRegistry
from jobwerk.sdk import AUTH, AdminDep, SessionDep, ViewerDep, responses

repository_router = APIRouter(prefix="/repository", tags=["module manager"])
modules_router = APIRouter(prefix="/modules", tags=["module manager"])
legacy_router = APIRouter(tags=["module manager"])
OPERATION = responses(404, 409, 422)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Repeat a request with the same key to get the first request's operation",
    ),
]
READ = {**AUTH, **responses(400, 404, 429)}
CATALOG_FILTERS = {"repository", "repository_id", "category", "installed", "text", "template"}


def _check_filters(request: Request) -> None:
    """Unknown or repeated filters are a 400, not silently ignored."""
    unknown = set(request.query_params) - CATALOG_FILTERS
    if unknown:
        raise AppError(f"unknown filter(s): {', '.join(sorted(unknown))[:200]}")
    repeated = [key for key in request.query_params if len(request.query_params.getlist(key)) > 1]
    if repeated:
        raise AppError(f"filter(s) given more than once: {', '.join(sorted(set(repeated)))}")


def _manager(request: Request | WebSocket) -> ModuleManager:
    manager: ModuleManager = request.app.state.manager
    return manager


class OperationStart:
    """What a route that starts an operation needs: the manager, the acting admin, and the
    answer — 202 with ``Location``, 409 naming the blocking operation, or, for a repeated
    ``Idempotency-Key``, the operation the first request started."""

    def __init__(
        self,
        request: Request,
        response: Response,
        principal: AdminDep,
        idempotency_key: IdempotencyKey = None,
    ) -> None:
        self.manager = _manager(request)
        self.actor = principal.name
        self._response = response
        self._key = idempotency_key

    async def answer(self, started: Coroutine[Any, Any, dict[str, Any]]) -> Any:
        if self._key:
            async with self.manager.runtime.db.session() as session:
                existing = await operations.operation_by_key(session, self._key)
            if existing is not None:
                started.close()
                self._response.headers["Location"] = f"/modules/status/{existing.id}"
                return operations.operation_dict(existing)
        token = operations.IDEMPOTENCY_KEY.set(self._key or None)
        try:
            data = await started
        except Conflict as exc:
            body = {"detail": exc.message}
            if exc.details.get("operation_id"):
                body["operation_id"] = exc.details["operation_id"]
            return JSONResponse(body, 409)
        finally:
            operations.IDEMPOTENCY_KEY.reset(token)
        self._response.headers["Location"] = data["status_url"]
        return data


StartDep = Annotated[OperationStart, Depends(OperationStart)]


@repository_router.get("/list", summary="Repositories with their statistics", responses=READ)
async def list_repositories(
    request: Request, session: SessionDep, _: ViewerDep
) -> list[RepositoryRead]:
    rows = await views.repository_list(_manager(request), session)
    return [RepositoryRead.model_validate(row) for row in rows]


@repository_router.post(
    "", summary="Add a repository", status_code=201, responses=responses(409, 422)
)
async def add_repository(request: Request, body: RepositoryCreate, _: AdminDep) -> RepositoryRead:
    manager = _manager(request)
    async with manager.runtime.transaction() as session:
        row = await repositories.add_repository(
            session, body.id, body.url, name=body.name, ca_file=body.ca_file, enabled=body.enabled
        )
        view = repositories.repository_dict(row, [], None, {})
    return RepositoryRead.model_validate(view)


@repository_router.delete(
    "/{repository_id}",
    summary="Remove a repository",
    status_code=204,
    responses=responses(404),
)
async def remove_repository(request: Request, repository_id: str, _: AdminDep) -> Response:
    async with _manager(request).runtime.transaction() as session:
        await repositories.remove_repository(session, repository_id)
    return Response(status_code=204)


@repository_router.get(
    "/modules", summary="Modules available in the repositories (filtered)", responses=READ
)
async def catalog(
    request: Request,
    session: SessionDep,
    _: ViewerDep,
    repository: Annotated[str | None, Query(max_length=64, description="Repository id")] = None,
    repository_id: Annotated[str | None, Query(max_length=64, include_in_schema=False)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    installed: bool | None = None,
    text: Annotated[str | None, Query(max_length=200, description="Search in names")] = None,
) -> CatalogRead:
    _check_filters(request)
    data = await views.catalog(
        _manager(request),
        session,
        repository_id=repository or repository_id,
        category=category,
        installed=installed,
        text=text,
    )
    return CatalogRead.model_validate(data)


@repository_router.post(
    "/install",
    summary="Install a module from a repository",
    status_code=202,
    response_model=OperationRead,
    responses=OPERATION,
)
async def install(body: InstallRequest, start: StartDep) -> Any:
    return await start.answer(
        start.manager.install(body.module_name, body.repository_id, body.version, start.actor)
    )


@repository_router.get(
    "/install/status/{operation_id}", summary="Status of an operation", responses=READ
)
@modules_router.get("/status/{operation_id}", summary="Status of an operation", responses=READ)
async def operation_status(
    request: Request, operation_id: str, session: SessionDep, _: ViewerDep
) -> OperationRead:
    operation = await operations.get_operation(session, operation_id)
    return OperationRead.model_validate(operations.operation_dict(operation))


@repository_router.delete(
    "/uninstall/{module_id}",
    summary="Uninstall a module (runs are kept)",
    status_code=202,
    response_model=OperationRead,
    responses=OPERATION,
)
async def uninstall(
    module_id: str,
    start: StartDep,
    force: Annotated[bool, Query(description="Also delete its instances")] = False,
) -> Any:
    return await start.answer(start.manager.uninstall(module_id, force, start.actor))


@modules_router.post(
    "/update",
    summary="Update a module (the previous version is kept)",
    status_code=202,
    response_model=OperationRead,
    responses=OPERATION,
)
async def update(body: UpdateRequest, start: StartDep) -> Any:
    return await start.answer(
        start.manager.update(body.module_name, body.repository_id, body.version, start.actor)
    )


@modules_router.post(
    "/rollback/{module_name}",
    summary="Switch back to the previous version",
    status_code=202,
    response_model=OperationRead,
    responses=OPERATION,
)
async def rollback(module_name: str, start: StartDep) -> Any:
    return await start.answer(start.manager.rollback(module_name, start.actor))


@modules_router.post(
    "/install-instance",
    summary="Create an instance of a module",
    status_code=202,
    response_model=OperationRead,
    responses=OPERATION,
)
@repository_router.post(
    "/install-instance",
    summary="Create an instance of a module",
    status_code=202,
    response_model=OperationRead,
    responses=OPERATION,
)
async def install_instance(body: InstanceCreate, start: StartDep) -> Any:
    return await start.answer(
        instances.install_instance(
            start.manager,
            body.module_name,
            body.name,
            body.settings,
            body.set_primary or None,
            start.actor,
        )
    )


@modules_router.get("/operations", summary="Operation history, newest first", responses=READ)
async def operation_history(
    session: SessionDep,
    _: ViewerDep,
    module_name: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OperationList:
    if module_name is not None:
        check_module_name(module_name)
    rows = await operations.list_operations(session, module_name, limit)
    found = [OperationRead.model_validate(operations.operation_dict(row)) for row in rows]
    return OperationList(operations=found, total=len(found))


@modules_router.post(
    "/operations/{operation_id}/cancel",
    summary="Ask a running operation to stop",
    responses=OPERATION,
)
async def cancel(request: Request, operation_id: str, _: AdminDep) -> CancelRead:
    await _manager(request).cancel(operation_id)
    return CancelRead(success=True, operation_id=operation_id, message="Cancellation requested")


@modules_router.get("/instances", summary="Instances of every module", responses=READ)
async def list_instances(
    request: Request,
    session: SessionDep,
    _: ViewerDep,
    include_hidden: Annotated[
        bool, Query(description="Accepted for VYRA clients; every instance is shown")
    ] = False,
) -> InstancesRead:
    return InstancesRead.model_validate(await views.instance_map(_manager(request), session))


@modules_router.get("/instance/{module_name}/{instance_id}", summary="One instance", responses=READ)
async def get_instance(
    request: Request, module_name: str, instance_id: str, session: SessionDep, _: ViewerDep
) -> InstanceRead:
    instance = await instances.find(session, module_name, instance_id)
    [view] = await instances.describe(_manager(request), session, [instance])
    return InstanceRead.model_validate(view)


@modules_router.patch(
    "/instance/{module_name}/{instance_id}",
    summary="Change an instance's settings (validated; secrets write-only)",
    responses=responses(404, 409, 422),
)
async def edit_instance(
    request: Request, module_name: str, instance_id: str, body: InstanceUpdate, _: AdminDep
) -> InstanceRead:
    view = await instances.update_instance(
        _manager(request), module_name, instance_id, body.settings, body.name
    )
    return InstanceRead.model_validate(view)


@modules_router.delete(
    "/instance/{module_name}/{instance_id}",
    summary="Delete an instance (runs are kept)",
    status_code=202,
    response_model=OperationRead,
    responses=OPERATION,
)
async def delete_instance(
    module_name: str, instance_id: str, start: StartDep, delete_files: bool = True
) -> Any:
    return await start.answer(
        instances.delete_instance(
            start.manager, module_name, instance_id, delete_files, start.actor
        )
    )


@modules_router.get("/primary/{module_name}", summary="The primary instance", responses=READ)
async def get_primary(request: Request, module_name: str, session: SessionDep, _: ViewerDep) -> Any:
    view = await views.primary(_manager(request), session, module_name)
    return PrimaryRead.model_validate(
        {
            "module_name": module_name,
            "primary_instance": {k: view[k] for k in ("instance_id", "status", "version")},
            "message": f"Primary instance of {module_name}",
        }
    )


@modules_router.post(
    "/primary/{module_name}/{instance_id}",
    summary="Make an instance the primary one",
    status_code=202,
    response_model=OperationRead,
    responses=OPERATION,
)
async def set_primary(module_name: str, instance_id: str, start: StartDep) -> Any:
    return await start.answer(
        instances.set_primary(start.manager, module_name, instance_id, start.actor)
    )


@legacy_router.get("/status", summary="System status and configuration summary", responses=AUTH)
async def system_status(request: Request, session: SessionDep, _: ViewerDep) -> StatusRead:
    return StatusRead.model_validate(await views.status(_manager(request), session))


@legacy_router.get("/api/modules", summary="Modules (legacy)", responses=AUTH)
async def legacy_modules(request: Request, _: ViewerDep) -> ModulesRead:
    found = views.module_list(_manager(request))
    return ModulesRead.model_validate({"modules": found, "total": len(found)})


@legacy_router.get(
    "/api/modules/{module_name}", summary="A module's primary instance (legacy)", responses=READ
)
async def legacy_module(
    request: Request, module_name: str, session: SessionDep, _: ViewerDep
) -> InstanceRead:
    return InstanceRead.model_validate(await views.primary(_manager(request), session, module_name))


@legacy_router.post(
    "/api/install/{module_name}",
    summary="Create an instance (legacy install)",
    status_code=202,
    response_model=OperationRead,
    responses=OPERATION,
)
async def legacy_install(module_name: str, start: StartDep) -> Any:
    return await start.answer(
        instances.install_instance(start.manager, module_name, None, {}, None, start.actor)
    )


def include_manager(app: FastAPI, runtime: Runtime, modules: ModuleRegistry) -> ModuleManager:
    """Create the manager, activate installed modules and add its routes to ``app``.

    Call before module routers are mounted, so installed modules' routes are mounted too;
    call ``await app.state.manager.start()`` in the lifespan once the database is migrated.
    """
    manager = ModuleManager(runtime, modules)
    manager.load_installed()
    app.state.manager = manager
    for router in (repository_router, modules_router, legacy_router, _stream.router):
        app.include_router(router)
    return manager
