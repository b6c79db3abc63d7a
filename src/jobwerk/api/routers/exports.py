"""``/api/v1/exports``: list, download and delete the export files of any run, whichever module
wrote them (the scraper's documents, TEMU's JTL XML and archived exchanges)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from jobwerk.api.schemas.exports import ExportMetadataRead, ExportsDeleted
from jobwerk.core import exports
from jobwerk.sdk.deps import OperatorDep, RuntimeDep, SessionDep, ViewerDep
from jobwerk.sdk.schemas import AUTH, EXPORTS_URL, ExportFileRead, responses

router = APIRouter(prefix=EXPORTS_URL, tags=["exports"], responses=AUTH)
RunId = Annotated[str, Path(max_length=64, description="Run id (seed 003: job id)")]


@router.get("/{job_id}/metadata", summary="The export files of a run", responses=responses(404))
async def export_metadata(
    job_id: RunId, session: SessionDep, runtime: RuntimeDep, _: ViewerDep
) -> ExportMetadataRead:
    run, entries = await exports.run_exports(session, runtime.settings.data_dir, job_id)
    return ExportMetadataRead(
        job_id=run.id,
        workflow=run.workflow,
        status=run.status,
        created_at=run.created_at,
        finished_at=run.finished_at,
        file_count=len(entries),
        total_size=sum(entry.size for entry in entries),
        files=[ExportFileRead.of(run.id, entry) for entry in entries],
    )


@router.delete("/{job_id}", summary="Delete a run's export files", responses=responses(404, 409))
async def delete_exports(job_id: RunId, runtime: RuntimeDep, _: OperatorDep) -> ExportsDeleted:
    files, size = await exports.remove_exports(runtime, job_id)
    return ExportsDeleted(job_id=job_id, deleted_files=files, freed_bytes=size)


@router.get(
    "/{job_id}/{filename:path}",
    summary="Download an export file",
    response_class=FileResponse,
    responses={**responses(403, 404), 200: {"content": {"application/octet-stream": {}}}},
)
async def download_export(
    job_id: RunId, filename: str, session: SessionDep, runtime: RuntimeDep, _: ViewerDep
) -> FileResponse:
    path, content_type = await exports.export_download(
        session, runtime.settings.data_dir, job_id, filename
    )
    return FileResponse(path, media_type=content_type, filename=path.name)
