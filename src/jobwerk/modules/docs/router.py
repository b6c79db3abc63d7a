"""HTTP routes of the docs module (seed 003): scrapes, conversions of exports, credentials.
Listing, downloading and deleting the exports of any run is the core's ``/api/v1/exports``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from jobwerk.sdk import (
    AUTH,
    AdminDep,
    OperatorDep,
    RuntimeDep,
    SessionDep,
    ViewerDep,
    request_id,
    responses,
)

from . import actions
from . import credentials as creds
from .schemas import (
    ConversionCreate,
    ConversionRead,
    ScrapeJobCreated,
    SyncScrapeRead,
)
from .scraper import Estimate, ScrapeRequest, ValidationReport

scrape_router = APIRouter(prefix="/api/v1/scrape", tags=["scrape"], responses=AUTH)
# Mounted before the core's /api/v1/exports, whose /{job_id}/{filename} would take /conversions.
exports_router = APIRouter(prefix="/api/v1/exports", tags=["exports"], responses=AUTH)
credentials_router = APIRouter(
    prefix="/api/v1/auth/credentials", tags=["credentials"], responses=AUTH
)
RunId = Annotated[str, Path(max_length=64, description="Run id (seed 003: job id)")]


@scrape_router.post(
    "",
    summary="Start a scrape",
    description="Queues a `docs.scrape` run; it appears in `/api/v1/jobs`.",
    status_code=202,
    responses=responses(404, 422),
)
async def start_scrape(
    body: ScrapeRequest, request: Request, runtime: RuntimeDep, caller: OperatorDep
) -> ScrapeJobCreated:
    run = await actions.start_scrape(runtime, body, request_id(request), caller.actor)
    return ScrapeJobCreated(
        job_id=run.id,
        status_url=f"/api/v1/jobs/{run.id}",
        stream_url=f"/api/v1/jobs/{run.id}/stream",
        exports_url=f"/api/v1/exports/{run.id}/metadata",
        created_at=run.created_at,
    )


@scrape_router.post(
    "/sync",
    summary="Scrape a small site now",
    description="Returns the combined Markdown and the page list; 413 past the page cap.",
    responses=responses(404, 413, 422),
)
async def scrape_sync(body: ScrapeRequest, runtime: RuntimeDep, _: OperatorDep) -> SyncScrapeRead:
    return await actions.scrape_now(runtime, body)


@scrape_router.post(
    "/validate", summary="Check a URL and options before scraping", responses=responses(404, 422)
)
async def validate(body: ScrapeRequest, runtime: RuntimeDep, _: OperatorDep) -> ValidationReport:
    return await actions.check_target(runtime, body)


@scrape_router.post(
    "/estimate", summary="Estimate pages and duration", responses=responses(404, 422)
)
async def estimate(body: ScrapeRequest, runtime: RuntimeDep, _: OperatorDep) -> Estimate:
    return await actions.estimate(runtime, body)


@exports_router.get(
    "/conversions/{conversion_id}", summary="Status of a conversion", responses=responses(404)
)
async def get_conversion(
    conversion_id: RunId, session: SessionDep, runtime: RuntimeDep, _: ViewerDep
) -> ConversionRead:
    return await actions.conversion(session, runtime.settings.data_dir, conversion_id)


@exports_router.post(
    "/{job_id}/convert",
    summary="Convert an export",
    description="Queues a `docs.convert` run; follow it at `status_url`.",
    status_code=202,
    responses=responses(403, 404, 422),
)
async def convert_export(
    job_id: RunId,
    body: ConversionCreate,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: OperatorDep,
) -> ConversionRead:
    run = await actions.start_conversion(
        runtime, job_id, body.target_format, body.source, request_id(request), caller.actor
    )
    return await actions.conversion(session, runtime.settings.data_dir, run.id)


@credentials_router.post(
    "",
    summary="Store a credential",
    description="Secrets are encrypted at rest and never returned, logged or echoed in errors.",
    status_code=201,
    responses=responses(409, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": creds.CredentialCreate.model_json_schema()}},
        }
    },
)
async def create_credential(
    request: Request, runtime: RuntimeDep, _: AdminDep
) -> creds.CredentialRead:
    # The body is parsed here, not by FastAPI, whose 422 answers would echo the secrets.
    body = creds.parse_credential(await request.body())
    async with runtime.transaction() as session:
        row = await creds.create_credential(session, runtime.box, body)
        return creds.credential_read(row, runtime.box)


@credentials_router.get("", summary="List stored credentials (without secrets)")
async def list_credentials(
    session: SessionDep, runtime: RuntimeDep, _: OperatorDep
) -> list[creds.CredentialRead]:
    rows = await creds.list_credentials(session)
    return [creds.credential_read(row, runtime.box) for row in rows]


@credentials_router.delete(
    "/{credential_id}", summary="Delete a credential", status_code=204, responses=responses(404)
)
async def delete_credential(credential_id: str, runtime: RuntimeDep, _: AdminDep) -> None:
    async with runtime.transaction() as session:
        await creds.delete_credential(session, credential_id)


ROUTERS = (scrape_router, exports_router, credentials_router)
