"""A bounded schemathesis run over the whole OpenAPI document (every module) against a live
server on SQLite and on PostgreSQL: no 5xx, no undocumented status codes, every answer matching
its schema."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from jobwerk.app import create_app
from tests.support.api import ADMIN, STATIC_KEY, free_port, make_settings

# Starlette's 405 lists only the first matching route's methods (a framework limit), and the
# API validates some values beyond their schema (cron syntax, a disabled job answers 423).
EXCLUDED_CHECKS = "positive_data_acceptance,unsupported_method,allow_header_conformance"


def _runs(base: str) -> list[str]:
    """Two finished runs, so that path parameters reach more than the 404 answer."""
    with httpx.Client(base_url=base, headers=ADMIN, timeout=30) as client:
        runs = []
        for items in (1, 2):
            answer = client.post("/api/jobs/demo_example/run-now", json={"items": items})
            run_id = answer.json()["run_id"]
            for _ in range(200):
                if client.get(f"/api/v1/jobs/{run_id}").json()["status"] == "completed":
                    break
                time.sleep(0.05)
            runs.append(run_id)
        return runs


def _config(folder: Path, runs: list[str]) -> Path:
    """Real ids offered to the path parameters most of the time, generated ones otherwise."""
    ids = {"jobs": ["demo_example", *runs], "runs": runs}
    lines = [
        f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n" for name, values in ids.items()
    ]
    lines.append("[parameters]")
    for parameter, dictionary in (("job_id", "jobs"), ("run_id", "runs")):
        lines.append(f'"path.{parameter}" = {{ dictionary = "{dictionary}", probability = 0.7 }}')
    path = folder / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_openapi_document_holds_under_fuzzing(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    settings = make_settings(tmp_path)
    settings = settings.model_copy(
        update={
            "modules": None,
            "database": settings.database.model_copy(update={"url": database_url}),
        }
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        config = _config(tmp_path, _runs(base))
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "--config-file",
                str(config),
                "run",
                f"{base}/api/openapi.json",
                "--header",
                f"X-API-Key: {STATIC_KEY}",
                "--max-examples",
                "10",
                "--checks",
                "all",
                "--exclude-checks",
                EXCLUDED_CHECKS,
                "--generation-deterministic",
                "--request-timeout",
                "20",
            ],
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
    finally:
        server.should_exit = True
        thread.join(15)
    assert result.returncode == 0, result.stdout[-8000:]
