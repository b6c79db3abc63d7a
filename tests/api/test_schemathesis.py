"""A bounded schemathesis run over the whole OpenAPI document against a live server: no 5xx,
no undocumented status codes, every answer matching its schema."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn

from jobwerk.app import create_app
from tests.api.conftest import STATIC_KEY, free_port, make_settings

# Starlette's 405 lists only the first matching route's methods (a framework limit), and the
# API validates some values beyond their schema (cron syntax, a disabled job answers 423).
EXCLUDED_CHECKS = "positive_data_acceptance,unsupported_method,allow_header_conformance"


def test_openapi_document_holds_under_fuzzing(tmp_path: Path) -> None:
    port = free_port()
    app = create_app(make_settings(tmp_path))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"http://127.0.0.1:{port}/api/openapi.json",
                "--header",
                f"X-API-Key: {STATIC_KEY}",
                "--max-examples",
                "5",
                "--checks",
                "all",
                "--exclude-checks",
                EXCLUDED_CHECKS,
                "--generation-deterministic",
                "--request-timeout",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    finally:
        server.should_exit = True
        thread.join(15)
    assert result.returncode == 0, result.stdout[-6000:]
