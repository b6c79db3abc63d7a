"""``/api/v1/jobs``: runs with filters, detail, cancel/delete, retry and logs (seed 003)."""

from __future__ import annotations

import os

import httpx

from jobwerk.core.context import run_export_dir
from jobwerk.core.runtime import Runtime
from jobwerk.storage.models import Run
from tests.support.api import ADMIN, trigger, wait_for_run


async def test_list_filters_and_pagination(api: httpx.AsyncClient) -> None:
    ok = await trigger(api)
    await wait_for_run(api, ok)
    failed = await trigger(api, fail_in="transform")
    await wait_for_run(api, failed)
    page = (await api.get("/api/v1/jobs?limit=1", headers=ADMIN)).json()
    assert page["pagination"] == {"total": 2, "limit": 1, "offset": 0, "has_more": True}
    assert page["jobs"][0]["id"] == failed  # newest first
    only_failed = (await api.get("/api/v1/jobs?status=failed", headers=ADMIN)).json()
    assert [run["id"] for run in only_failed["jobs"]] == [failed]
    both = (await api.get("/api/v1/jobs?status=failed&status=completed", headers=ADMIN)).json()
    assert both["pagination"]["total"] == 2
    by_workflow = await api.get("/api/v1/jobs?workflow=demo.example", headers=ADMIN)
    assert by_workflow.json()["pagination"]["total"] == 2
    none = await api.get("/api/v1/jobs?workflow=other.flow", headers=ADMIN)
    assert none.json()["pagination"]["total"] == 0
    future = await api.get("/api/v1/jobs?since=2999-01-01T00:00:00", headers=ADMIN)
    assert future.json()["jobs"] == []
    instance = await api.get("/api/v1/jobs?instance=" + "0" * 32, headers=ADMIN)
    assert instance.json()["jobs"] == []
    assert (await api.get("/api/v1/jobs?status=bogus", headers=ADMIN)).status_code == 422
    assert (await api.get("/api/v1/jobs?limit=0", headers=ADMIN)).status_code == 422


async def test_list_entries_match_the_detail_and_a_page_past_the_end_keeps_the_total(
    api: httpx.AsyncClient,
) -> None:
    run_id = await trigger(api)
    detail = await wait_for_run(api, run_id)
    listed = (await api.get("/api/v1/jobs", headers=ADMIN)).json()
    entry = listed["jobs"][0]
    assert entry == {name: detail[name] for name in entry}
    assert entry["duration_seconds"] is not None
    past = (await api.get("/api/v1/jobs?offset=5", headers=ADMIN)).json()
    assert past == {
        "jobs": [],
        "pagination": {"total": 1, "limit": 50, "offset": 5, "has_more": False},
    }


async def test_detail_has_steps_progress_and_result(api: httpx.AsyncClient) -> None:
    run = await wait_for_run(api, await trigger(api, items=3))
    assert run["status"] == "completed"
    assert [step["name"] for step in run["steps"]] == ["collect", "transform", "publish"]
    assert run["progress_detail"] == {
        "percent_complete": 100.0,
        "current_step": "publish",
        "steps_done": 3,
        "steps_total": 3,
    }
    assert run["result"]["published"] == 3 and run["result"]["outlet"]["process"] == os.getpid()
    assert run["request_id"]
    assert (await api.get("/api/v1/jobs/unknown", headers=ADMIN)).status_code == 404


async def test_delete_cancels_active_then_deletes_finished(api: httpx.AsyncClient) -> None:
    run_id = await trigger(api, items=200, delay=0.05)
    await wait_for_run(api, run_id, until=("running",))
    cancelled = await api.delete(f"/api/v1/jobs/{run_id}", headers=ADMIN)
    assert cancelled.json()["action"] == "cancelled"
    run = await wait_for_run(api, run_id)
    assert run["status"] == "cancelled"
    deleted = await api.delete(f"/api/v1/jobs/{run_id}", headers=ADMIN)
    assert deleted.json() == {"id": run_id, "action": "deleted", "status": None}
    assert (await api.get(f"/api/v1/jobs/{run_id}", headers=ADMIN)).status_code == 404
    assert (await api.delete(f"/api/v1/jobs/{run_id}", headers=ADMIN)).status_code == 404


async def test_retry_failed_run_and_refuse_completed(api: httpx.AsyncClient) -> None:
    failed = await wait_for_run(api, await trigger(api, fail_in="publish"))
    assert failed["status"] == "failed" and failed["error"]
    retried = await api.post(f"/api/v1/jobs/{failed['id']}/retry", headers=ADMIN)
    assert retried.status_code == 202
    assert retried.json()["retry_of"] == failed["id"]
    assert retried.json()["trigger"] == "retry"
    done = await wait_for_run(api, retried.json()["id"])
    completed = await api.post(f"/api/v1/jobs/{done['id']}/retry", headers=ADMIN)
    assert completed.status_code in (202, 409)
    ok = await wait_for_run(api, await trigger(api)) if completed.status_code == 409 else done
    if ok["status"] == "completed":
        refused = await api.post(f"/api/v1/jobs/{ok['id']}/retry", headers=ADMIN)
        assert refused.status_code == 409
    assert (await api.post("/api/v1/jobs/unknown/retry", headers=ADMIN)).status_code == 404


async def test_logs_filters_and_pagination(api: httpx.AsyncClient) -> None:
    run_id = (await wait_for_run(api, await trigger(api, items=8)))["id"]
    url = f"/api/v1/jobs/{run_id}/logs"
    everything = (await api.get(url, headers=ADMIN)).json()
    total = everything["pagination"]["total"]
    assert total >= 12
    steps = {line["step"] for line in everything["logs"]}
    assert {"collect", "transform", "publish"} <= steps
    only = (await api.get(url + "?step=transform", headers=ADMIN)).json()
    assert {line["step"] for line in only["logs"]} == {"transform"}
    text = (await api.get(url + "?text=published", headers=ADMIN)).json()
    assert text["logs"] and all("published" in line["message"] for line in text["logs"])
    errors = (await api.get(url + "?level=error", headers=ADMIN)).json()
    assert errors["logs"] == []
    paged = (await api.get(url + "?limit=2&offset=2", headers=ADMIN)).json()
    assert [line["id"] for line in paged["logs"]] == [
        line["id"] for line in everything["logs"][2:4]
    ]
    after = (await api.get(url + f"?after_id={everything['logs'][-2]['id']}", headers=ADMIN)).json()
    assert len(after["logs"]) == 1
    assert (await api.get(url + "?level=loud", headers=ADMIN)).status_code == 422
    assert (await api.get("/api/v1/jobs/unknown/logs", headers=ADMIN)).status_code == 404


async def test_deleting_a_finished_run_removes_its_exports(
    api: httpx.AsyncClient, app_runtime: Runtime
) -> None:
    run = await wait_for_run(api, await trigger(api))
    folder = run_export_dir(app_runtime.settings.data_dir, run["id"])
    folder.mkdir(parents=True)
    (folder / "orders.xml").write_text("<tBestellungen/>")
    # Exports are the core's: listed and served with no docs module loaded (only demo here).
    meta = await api.get(f"/api/v1/exports/{run['id'][:8]}/metadata", headers=ADMIN)
    assert [file["name"] for file in meta.json()["files"]] == ["orders.xml"]
    download = await api.get(meta.json()["files"][0]["download_url"], headers=ADMIN)
    assert download.text == "<tBestellungen/>" and download.headers["content-type"].startswith(
        "application/xml"
    )
    deleted = await api.delete(f"/api/v1/jobs/{run['id'][:8]}", headers=ADMIN)
    assert deleted.json() == {"id": run["id"], "action": "deleted", "status": None}
    assert not folder.exists()


async def test_a_unique_prefix_finds_a_run_and_an_ambiguous_one_is_a_clear_422(
    api: httpx.AsyncClient, app_runtime: Runtime
) -> None:
    ids = ["feedaaaa" + "0" * 24, "feedbbbb" + "0" * 24]
    async with app_runtime.transaction() as session:
        session.add_all(
            [Run(id=run_id, workflow="demo.example", status="completed") for run_id in ids]
        )
    found = await api.get("/api/v1/jobs/feedaaaa", headers=ADMIN)
    assert found.status_code == 200 and found.json()["id"] == ids[0]
    logs = await api.get("/api/v1/jobs/feedbbbb/logs", headers=ADMIN)
    assert logs.status_code == 200
    ambiguous = await api.get("/api/v1/jobs/feed", headers=ADMIN)
    assert ambiguous.status_code == 422
    assert ambiguous.json()["message"] == (
        "'feed' is the start of more than one run id; give more characters"
    )
    assert (await api.get("/api/v1/jobs/fee", headers=ADMIN)).status_code == 404  # too short


async def test_warnings_make_a_distinct_state_in_runs_filters_and_job_status(
    api: httpx.AsyncClient,
) -> None:
    run = await wait_for_run(api, await trigger(api, flaky=True))
    assert run["status"] == "completed_with_warnings"
    assert run["result"]["warnings"] and run["progress"] == 100
    assert run["trigger"] == "api" and run["started_by"] == "static:static-key"
    assert run["params"] == {"items": 2, "delay": 0, "fail_in": None, "flaky": True}
    listed = await api.get(
        "/api/v1/jobs", params={"status": "completed_with_warnings"}, headers=ADMIN
    )
    assert [entry["id"] for entry in listed.json()["jobs"]] == [run["id"]]
    clean = await api.get("/api/v1/jobs", params={"status": "completed"}, headers=ADMIN)
    assert clean.json()["jobs"] == []
    job = (await api.get("/api/jobs/demo_example", headers=ADMIN)).json()["status"]
    assert job["status"] == "warning" and job["last_success"] == run["finished_at"]
    bogus = await api.get("/api/v1/jobs", params={"status": "bogus"}, headers=ADMIN)
    assert bogus.status_code == 422


async def test_last_success_is_the_jobs_own_and_survives_a_later_failure(
    api: httpx.AsyncClient,
) -> None:
    fresh = (await api.get("/api/jobs/demo_example", headers=ADMIN)).json()["status"]
    assert fresh["last_success"] is None
    good = await wait_for_run(api, await trigger(api))
    await wait_for_run(api, await trigger(api, fail_in="collect"))
    job = (await api.get("/api/jobs/demo_example", headers=ADMIN)).json()["status"]
    assert job["status"] == "failed" and job["last_success"] == good["finished_at"]
