"""``/api/jobs``: listing, status, run-now, schedule and toggle (seeds 000-002)."""

from __future__ import annotations

import httpx

from tests.support.api import ADMIN, wait_for_run

QUICK = {"items": 2, "delay": 0}


async def test_list_and_get_jobs_in_seed_shape(api: httpx.AsyncClient) -> None:
    jobs = (await api.get("/api/jobs", headers=ADMIN)).json()
    assert [job["job_id"] for job in jobs] == ["demo_example"]
    job = (await api.get("/api/jobs/demo_example", headers=ADMIN)).json()
    assert job["job_id"] == "demo_example"
    assert set(job["status"]) >= {"status", "last_run", "next_run", "last_error", "last_duration"}
    assert job["status"]["status"] == "idle"


async def test_unknown_job_is_404(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/jobs/nope", headers=ADMIN)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Job 'nope' not found", "status": 404}
    assert (await api.post("/api/jobs/nope/run-now", headers=ADMIN)).status_code == 404


async def test_run_now_with_query_params_then_status_is_success(api: httpx.AsyncClient) -> None:
    answer = await api.post("/api/jobs/demo_example/run-now?items=3&delay=0", headers=ADMIN)
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "triggered" and body["job_id"] == "demo_example"
    assert body["params"]["items"] == 3
    await wait_for_run(api, body["run_id"])
    status = (await api.get("/api/jobs/demo_example", headers=ADMIN)).json()["status"]
    assert status["status"] == "success"
    assert status["last_run_id"] == body["run_id"]
    assert status["last_duration"] is not None


async def test_run_now_with_json_body(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/api/jobs/demo_example/run-now", json={"items": 4, "delay": 0}, headers=ADMIN
    )
    assert answer.status_code == 202
    assert answer.json()["params"]["items"] == 4


async def test_run_now_invalid_params_name_their_location(api: httpx.AsyncClient) -> None:
    answer = await api.post("/api/jobs/demo_example/run-now?items=many", headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "items"]
    answer = await api.post(
        "/api/jobs/demo_example/run-now", json={"flaky": "perhaps"}, headers=ADMIN
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "flaky"]
    answer = await api.post("/api/jobs/demo_example/run-now", json=[1, 2], headers=ADMIN)
    assert answer.status_code == 422


async def test_unknown_parameters_are_a_422_naming_the_valid_ones(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post("/api/jobs/demo_example/run-now", json={"itemz": 5}, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["message"] == (
        "unknown parameter 'itemz' (did you mean 'items'?) for demo.example; "
        "valid: delay, fail_in, flaky, items"
    )
    answer = await api.post("/api/jobs/demo_example/run-now?day_back=3", headers=ADMIN)
    assert answer.status_code == 422 and "'day_back' for demo.example" in answer.json()["message"]


async def test_run_now_conflicts_while_active(api: httpx.AsyncClient) -> None:
    first = await api.post(
        "/api/jobs/demo_example/run-now", json={"items": 50, "delay": 0.05}, headers=ADMIN
    )
    assert first.status_code == 202
    second = await api.post("/api/jobs/demo_example/run-now", headers=ADMIN)
    assert second.status_code == 409
    assert "already" in second.json()["detail"]
    await api.delete(f"/api/v1/jobs/{first.json()['run_id']}", headers=ADMIN)


async def test_disabled_job_is_locked_and_toggle_flips(api: httpx.AsyncClient) -> None:
    toggled = (await api.post("/api/jobs/demo_example/toggle", headers=ADMIN)).json()
    assert toggled["enabled"] is False
    assert toggled["status"]["next_run"] is None
    answer = await api.post("/api/jobs/demo_example/run-now", headers=ADMIN)
    assert answer.status_code == 423
    again = await api.post("/api/jobs/demo_example/toggle?enabled=true", headers=ADMIN)
    assert again.json()["enabled"] is True


async def test_schedule_interval_cron_and_validation(api: httpx.AsyncClient) -> None:
    url = "/api/jobs/demo_example/schedule"
    job = (await api.post(url, json={"interval_minutes": 5}, headers=ADMIN)).json()
    assert job["interval_minutes"] == 5 and job["cron"] is None
    job = (
        await api.post(url, json={"cron": "0 6 * * 1", "timezone": "Europe/Berlin"}, headers=ADMIN)
    ).json()
    assert job["cron"] == "0 6 * * 1" and job["timezone"] == "Europe/Berlin"
    assert job["status"]["next_run"] is not None
    bad = await api.post(url, json={"cron": "every day"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "cron"]
    both = await api.post(url, json={"cron": "* * * * *", "interval_minutes": 1}, headers=ADMIN)
    assert both.status_code == 422
    for zone in ("Mars/Base", "America", "Etc", "../etc"):  # "America" is a folder of zones
        answer = await api.post(url, json={"interval_minutes": 1, "timezone": zone}, headers=ADMIN)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "timezone"
    for interval in (-1, 0, 1e-9, 0.49):
        answer = await api.post(url, json={"interval_minutes": interval}, headers=ADMIN)
        assert answer.status_code == 422, interval
        assert "at least 0.5 minutes (30 seconds)" in answer.text
    thirty_seconds = await api.post(url, json={"interval_minutes": 0.5}, headers=ADMIN)
    assert thirty_seconds.status_code == 200 and thirty_seconds.json()["interval_minutes"] == 0.5
    missing = await api.post("/api/jobs/nope/schedule", json={"interval_minutes": 1}, headers=ADMIN)
    assert missing.status_code == 404
