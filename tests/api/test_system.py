"""System routes: liveness vs readiness, stats, Prometheus metrics, version, ping, docs, ``/``."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobwerk.core import events
from jobwerk.core.runtime import Runtime
from jobwerk.modules.demo import module as demo_module
from jobwerk.storage.db import Database
from tests.support.api import ADMIN, wait_for_run


async def test_health_reports_dependencies(api: httpx.AsyncClient) -> None:
    health = (await api.get("/api/v1/system/health")).json()
    assert health["status"] == "healthy"
    assert health["dependencies"]["database"]["status"] == "ok"
    assert health["dependencies"]["module:demo"]["status"] == "ok"
    assert health["dependencies"]["executor"] == {"status": "ok", "kind": "local", "active_runs": 0}
    assert health["uptime"] >= 0 and health["version"]


async def test_module_checks_are_reused_for_a_while(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    async def health(_runtime: Runtime, instance: object) -> dict[str, object]:
        calls.append(instance)
        return {"demo_service": {"status": "ok", "detail": "answered in 3 ms"}}

    monkeypatch.setattr(demo_module, "health", health)
    for _ in range(3):
        full = (await api.get("/api/v1/system/health", headers=ADMIN)).json()
        bare = (await api.get("/api/v1/system/health")).json()
    assert calls == [None]  # once in 30 s, for the primary instance (the demo has none)
    assert full["dependencies"]["demo_service"]["detail"] == "answered in 3 ms"
    assert bare["dependencies"]["demo_service"] == {"status": "ok"}


async def test_dead_database_fails_readiness_not_liveness(
    api: httpx.AsyncClient, app_runtime: Runtime
) -> None:
    working = app_runtime.db
    app_runtime.db = Database("postgresql+psycopg://nobody:x@127.0.0.1:9/none")
    try:
        ready = await api.get("/api/v1/system/health")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unhealthy"
        assert (await api.get("/readyz")).status_code == 503
        for path in ("/health", "/api/health", "/livez"):
            assert (await api.get(path)).json()["status"] == "ok"
    finally:
        await app_runtime.db.dispose()
        app_runtime.db = working


async def test_stats_version_ping(api: httpx.AsyncClient) -> None:
    stats = (await api.get("/api/v1/system/stats", headers=ADMIN)).json()
    assert set(stats) == {"jobs", "performance", "resources"}
    assert stats["jobs"]["configured_jobs"] == 1
    assert stats["resources"]["memory_rss_bytes"] > 0
    version = (await api.get("/api/v1/system/version")).json()
    assert version["api_version"] == "v1"
    assert (await api.get("/api/v1/system/ping")).json()["ping"] == "pong"


async def test_metrics_parse_and_count_runs(api: httpx.AsyncClient, app_runtime: Runtime) -> None:
    answer = await api.post(
        "/api/jobs/demo_example/run-now", json={"items": 2, "delay": 0}, headers=ADMIN
    )
    await wait_for_run(api, answer.json()["run_id"])
    # A run another process executed is counted there, not here. A local event published after
    # it shows when the metrics have taken both (the bus keeps their order), instead of a sleep.
    elsewhere = events.run_status("r2", None, status="completed", workflow="demo.example")
    app_runtime.bus.deliver(dataclasses.replace(elsewhere, relayed=True))
    app_runtime.bus.deliver(
        events.run_status("r3", None, status="cancelled", workflow="demo.example")
    )
    for _ in range(100):
        text = (await api.get("/api/v1/system/metrics", headers=ADMIN)).text
        families = {family.name: family for family in text_string_to_metric_families(text)}
        runs = {
            sample.labels["status"]: sample.value
            for sample in families["jobwerk_runs"].samples
            if sample.name == "jobwerk_runs_total" and sample.labels["workflow"] == "demo.example"
        }
        if "cancelled" in runs:
            break
        await asyncio.sleep(0.02)
    assert runs["completed"] == 1 and runs["cancelled"] == 1
    durations = [
        s for s in families["jobwerk_run_duration_seconds"].samples if s.name.endswith("_count")
    ]
    assert durations[0].value == 1
    steps = {s.labels["step"] for s in families["jobwerk_step_duration_seconds"].samples}
    assert steps == {"collect", "transform", "publish"}
    http = [
        s
        for s in families["jobwerk_http_requests"].samples
        if s.labels.get("route") == "/api/jobs/{job_id}/run-now" and s.name.endswith("_total")
    ]
    assert http[0].labels["status"] == "202"
    assert "jobwerk_queue_depth" in families and "jobwerk_ws_connections" in families
    assert "jobwerk_build_info" in families


async def test_root_overview_and_docs(api: httpx.AsyncClient) -> None:
    overview = (await api.get("/", headers={"Accept": "application/json"})).json()
    assert overview["service"] == "jobwerk" and overview["docs"] == "/api/docs"
    spec = (await api.get("/api/openapi.json")).json()
    for path, item in spec["paths"].items():
        for operation in item.values():
            assert operation.get("summary"), path
    assert "swagger" in (await api.get("/docs")).text.lower()
    assert "redoc" in (await api.get("/api/redoc")).text.lower()
