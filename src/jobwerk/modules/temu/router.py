"""``/api/temu/...`` (seed 002): health, info, stats and sync triggers of a TEMU instance.

The plain paths address the primary instance; ``/api/temu/instances/{instance_id}/...`` any.
Reads need the viewer role (the app adds it to every module route), triggers the operator role.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from jobwerk.core import job_service, run_service
from jobwerk.core.instances import get_instance, instance_config, primary_instance
from jobwerk.modules.temu import store
from jobwerk.modules.temu.settings import TemuSettings
from jobwerk.modules.temu.webhooks import receive_webhook
from jobwerk.modules.temu.workflows import sync_inventory, sync_orders, watch_stock
from jobwerk.modules.temu.workflows._replay import start_replay
from jobwerk.modules.temu.workflows._shop import check_connections, token_expiry
from jobwerk.sdk import (
    AUTH,
    InvalidInput,
    NotFound,
    OperatorDep,
    Principal,
    Runtime,
    RuntimeDep,
    SessionDep,
    request_id,
    responses,
)
from jobwerk.storage.models import Instance, Job

router = APIRouter(prefix="/api/temu", tags=["temu"], responses=AUTH)
InstancePath = Annotated[str, Path(description="A TEMU instance id (32 hex characters)")]
Status = Annotated[
    int | None,
    Query(description="TEMU parentOrderStatus (2 = to ship); empty: every status"),
]
DaysBack = Annotated[int | None, Query(ge=1, le=90, description="Orders of the last N days")]
Verbose = Annotated[bool | None, Query(description="Log every order / stock change")]
Full = Annotated[
    bool | None, Query(description="Read every order of the period, not only the changed ones")
]
Mode = Annotated[
    str | None, Query(description="quick (JTL stock → TEMU) or full", examples=["full"])
]
DryRunQuery = Annotated[
    bool | None,
    Query(description="Preview: write nothing, list what the sync would write (no job's run)"),
]


def _order_sync_params(
    parent_order_status: Status = None,
    days_back: DaysBack = None,
    verbose: Verbose = None,
    full: Full = None,
    dry_run: DryRunQuery = None,
) -> dict[str, Any]:
    return {
        "parent_order_status": parent_order_status,
        "days_back": days_back,
        "verbose": verbose,
        "full": full,
        "dry_run": dry_run,
    }


def _inventory_sync_params(
    mode: Mode = None, verbose: Verbose = None, dry_run: DryRunQuery = None
) -> dict[str, Any]:
    return {"mode": mode, "verbose": verbose, "dry_run": dry_run}


OrderSyncParams = Annotated[dict[str, Any], Depends(_order_sync_params)]
InventorySyncParams = Annotated[dict[str, Any], Depends(_inventory_sync_params)]


class InstanceRef(BaseModel):
    id: str
    name: str
    is_primary: bool


class SyncAccepted(BaseModel):
    status: str = Field("accepted", description="The run is queued")
    run_id: str
    job_id: str | None
    workflow: str
    instance_id: str
    params: dict[str, Any]
    status_url: str = Field(description="Where the run's status is (GET)")


def _ref(instance: Instance) -> dict[str, Any]:
    return InstanceRef(
        id=instance.id, name=instance.name, is_primary=instance.is_primary
    ).model_dump()


async def _instance(session: Any, instance_id: str | None) -> Instance:
    if instance_id is None:
        return await primary_instance(session, "temu")
    instance = await get_instance(session, instance_id)
    if instance.module != "temu":
        raise NotFound(f"Instance '{instance_id}' is not a TEMU instance")
    return instance


async def _health(runtime: Runtime, session: Any, instance_id: str | None) -> dict[str, Any]:
    instance = await _instance(session, instance_id)
    settings = TemuSettings.model_validate(instance_config(runtime.box, instance).settings)
    checks = await check_connections(settings)
    worst = {c["status"] for c in checks.values()}
    status = "error" if "error" in worst else "warning" if "warning" in worst else "ok"
    return {"status": status, "instance": _ref(instance), "checks": checks}


async def _info(session: Any, instance_id: str | None) -> dict[str, Any]:
    instance = await _instance(session, instance_id)
    jobs = await job_service.list_jobs(session, instance.id)
    return {
        "module": "temu",
        "instance": _ref(instance),
        "workflows": [
            {
                **workflow.describe(),
                "jobs": [
                    {
                        "id": job.id,
                        "title": job.title,
                        "enabled": job.enabled,
                        "interval_minutes": job.interval_minutes,
                        "cron": job.cron,
                        "params": job.params,
                    }
                    for job in jobs
                    if job.workflow == workflow.name
                ],
            }
            for workflow in (sync_orders, sync_inventory, watch_stock)
        ],
    }


async def _stats(runtime: Runtime, session: Any, instance_id: str | None) -> dict[str, Any]:
    instance = await _instance(session, instance_id)
    stats = await store.instance_stats(session, instance.id)
    stats["last_successful_sync"] = await store.last_successful_runs(session, instance.id)
    settings = TemuSettings.model_validate(instance_config(runtime.box, instance).settings)
    stats["token_expires_at"] = await token_expiry(instance.id, settings)
    return {"instance": _ref(instance), "stats": stats}


async def _trigger(
    runtime: Runtime,
    request: Request,
    caller: Principal,
    instance_id: str | None,
    workflow: str,
    params: dict[str, Any],
) -> SyncAccepted:
    from jobwerk.modules.temu import job_ids, watch_job_id

    given = {key: value for key, value in params.items() if value is not None}
    # A misspelt query parameter is refused by the workflow with the valid names, not dropped.
    given |= {key: value for key, value in request.query_params.items() if key not in params}
    if {"replay_of", "replay_jtl"} & given.keys():
        raise InvalidInput("a replay starts with POST /api/temu/runs/{run_id}/replay")
    async with runtime.transaction() as session:
        instance = await _instance(session, instance_id)
        orders_job, inventory_job = job_ids(instance)
        job_id = {
            sync_orders.name: orders_job,
            sync_inventory.name: inventory_job,
            watch_stock.name: watch_job_id(instance),
        }[workflow]
        job = await session.get(Job, job_id)
        ours = job is not None and job.instance_id == instance.id and job.workflow == workflow
        if ours and not given.get("dry_run"):
            run = await job_service.trigger_job(
                session,
                runtime.workflows,
                job_id,
                given,
                trigger="api",
                started_by=caller.actor,
                request_id=request_id(request),
            )
        else:
            # A preview is no run of the job: it neither waits for it nor counts as its sync.
            defaults = job.params if job is not None and ours else {}
            run = await run_service.enqueue_run(
                session,
                runtime.workflows,
                workflow,
                {**defaults, **given},
                instance_id=instance.id,
                trigger="api",
                started_by=caller.actor,
                request_id=request_id(request),
            )
    return SyncAccepted(
        run_id=run.id,
        job_id=run.job_id,
        workflow=workflow,
        instance_id=instance.id,
        params=run.params,
        status_url=f"/api/v1/jobs/{run.id}",
    )


# -- primary instance ---------------------------------------------------------------------


@router.get("/health", summary="TEMU token and JTL reachability", responses=responses(404))
async def health(runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    return await _health(runtime, session, None)


@router.get("/info", summary="Workflows, steps, parameters and jobs", responses=responses(404))
async def info(session: SessionDep) -> dict[str, Any]:
    return await _info(session, None)


@router.get(
    "/stats", summary="Orders, inventory, last syncs, token expiry", responses=responses(404)
)
async def stats(runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    return await _stats(runtime, session, None)


@router.post(
    "/orders/sync",
    summary="Start an order sync",
    status_code=202,
    responses=responses(404, 409, 422, 423),
)
async def sync_orders_now(
    request: Request, runtime: RuntimeDep, caller: OperatorDep, params: OrderSyncParams
) -> SyncAccepted:
    return await _trigger(runtime, request, caller, None, sync_orders.name, params)


@router.post(
    "/inventory/sync",
    summary="Start an inventory sync",
    status_code=202,
    responses=responses(404, 409, 422, 423),
)
async def sync_inventory_now(
    request: Request, runtime: RuntimeDep, caller: OperatorDep, params: InventorySyncParams
) -> SyncAccepted:
    return await _trigger(runtime, request, caller, None, sync_inventory.name, params)


# -- any instance -------------------------------------------------------------------------


@router.get(
    "/instances/{instance_id}/health", summary="Health of one instance", responses=responses(404)
)
async def instance_health(
    instance_id: InstancePath, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    return await _health(runtime, session, instance_id)


@router.get(
    "/instances/{instance_id}/info", summary="Info of one instance", responses=responses(404)
)
async def instance_info(instance_id: InstancePath, session: SessionDep) -> dict[str, Any]:
    return await _info(session, instance_id)


@router.get(
    "/instances/{instance_id}/stats", summary="Stats of one instance", responses=responses(404)
)
async def instance_stats(
    instance_id: InstancePath, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    return await _stats(runtime, session, instance_id)


@router.post(
    "/instances/{instance_id}/orders/sync",
    summary="Start an order sync of one instance",
    status_code=202,
    responses=responses(404, 409, 422, 423),
)
async def instance_sync_orders(
    instance_id: InstancePath,
    request: Request,
    runtime: RuntimeDep,
    caller: OperatorDep,
    params: OrderSyncParams,
) -> SyncAccepted:
    return await _trigger(runtime, request, caller, instance_id, sync_orders.name, params)


@router.post(
    "/instances/{instance_id}/inventory/sync",
    summary="Start an inventory sync of one instance",
    status_code=202,
    responses=responses(404, 409, 422, 423),
)
async def instance_sync_inventory(
    instance_id: InstancePath,
    request: Request,
    runtime: RuntimeDep,
    caller: OperatorDep,
    params: InventorySyncParams,
) -> SyncAccepted:
    return await _trigger(runtime, request, caller, instance_id, sync_inventory.name, params)


@router.post(
    "/instances/{instance_id}/stock-watch/preview",
    summary="Preview the stock watch of one instance",
    description=(
        "A dry run of `temu.watch_stock`: one look at JTL-Wawi comparing every SKU; its result "
        "lists the stock edits (old → new) the watch would send now. Writes nothing."
    ),
    status_code=202,
    responses=responses(404, 422),
)
async def instance_preview_watch(
    instance_id: InstancePath, request: Request, runtime: RuntimeDep, caller: OperatorDep
) -> SyncAccepted:
    return await _trigger(
        runtime, request, caller, instance_id, watch_stock.name, {"dry_run": True}
    )


# -- replays ------------------------------------------------------------------------------


@router.post(
    "/runs/{run_id}/replay",
    summary="Replay a finished TEMU sync from its archived TEMU exchanges",
    description=(
        "Starts a dry run of the same workflow with the same parameters for the same instance, "
        "answered by the TEMU requests and responses the run archived instead of TEMU, against "
        "the instance's JTL-Wawi: its result lists what the current code would write."
    ),
    status_code=202,
    responses=responses(404, 409, 422),
)
async def replay_run(
    run_id: Annotated[str, Path(description="The run to replay (or a unique prefix of its id)")],
    request: Request,
    runtime: RuntimeDep,
    caller: OperatorDep,
) -> SyncAccepted:
    async with runtime.transaction() as session:
        run = await start_replay(
            session,
            runtime.workflows,
            runtime.settings.data_dir,
            runtime.box,
            run_id,
            trigger="api",
            started_by=caller.actor,
            request_id=request_id(request),
        )
    assert run.instance_id is not None
    return SyncAccepted(
        run_id=run.id,
        job_id=None,
        workflow=run.workflow,
        instance_id=run.instance_id,
        params=run.params,
        status_url=f"/api/v1/jobs/{run.id}",
    )


# -- TEMU's webhooks (public: each push is checked against the shop's app secret) ------------

webhook_router = APIRouter(prefix="/api/temu", tags=["temu"])


class WebhookAccepted(BaseModel):
    result: dict[str, Any] = Field(description="Empty: TEMU wants a 200 with a result")
    event: str = Field(description="The event code (x-tm-event-code)")
    orders: list[str] = Field(default_factory=list, description="The orders it names")
    queued: dict[str, bool] = Field(
        default_factory=dict, description="Per TEMU instance: whether an order sync was queued"
    )
    ignored: str | None = Field(None, description="Why nothing was done (not an order event)")


@webhook_router.post(
    "/webhook",
    summary="Receive a TEMU webhook (order status, cancellation, address change)",
    description=(
        "The callback URL to register at TEMU for the app. No login: each push must carry "
        "TEMU's signature (x-tm-signature, HMAC-SHA256 with the app secret over x-tm-app-key, "
        "x-tm-event-code, x-tm-ext-param, x-tm-timestamp and the decrypted eventData). An "
        "order event queues an order sync of just that order (unless the shop's sync_orders "
        "job is disabled); other events are acknowledged and ignored."
    ),
    responses=responses(400, 401),
)
async def temu_webhook(request: Request, runtime: RuntimeDep) -> WebhookAccepted:
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    return WebhookAccepted(**await receive_webhook(runtime, headers, body))
