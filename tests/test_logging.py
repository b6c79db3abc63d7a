"""The server log: secrets masked, failures as one bounded line without local variables, and a
storm of identical failures collapsed into counts."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import structlog
from pydantic import SecretStr

from jobwerk import logging as jobwerk_logging

ServerLog = Callable[[], str]


def fail_deep(depth: int, password: str) -> None:
    api_key = "jwk_local-secret-key"
    if depth:
        fail_deep(depth - 1, password)
    raise RuntimeError(f"cannot reach postgresql://shop:db-pass-123@db/jobwerk with {len(api_key)}")


def test_fields_named_like_secrets_and_url_passwords_are_masked(server_log: ServerLog) -> None:
    structlog.get_logger("test").info(
        "connecting",
        app_secret="hunter2",
        settings={"access_token": "tok-123", "region": "EU", "jtl_url": "mssql://sa:pw-9@jtl/db"},
        token=SecretStr("secret-str-value"),
        url="postgresql://jobwerk:pg-pass@127.0.0.1/jobwerk",
    )
    output = server_log()
    for secret in ("hunter2", "tok-123", "pw-9", "secret-str-value", "pg-pass"):
        assert secret not in output
    assert "EU" in output and "jobwerk:***@127.0.0.1" in output


def test_a_failure_is_one_bounded_line_without_locals(server_log: ServerLog) -> None:
    try:
        fail_deep(200, "correct horse battery")
    except RuntimeError:
        structlog.get_logger("test").exception("unhandled error")
    try:
        fail_deep(1, "correct horse battery")
    except RuntimeError:
        logging.getLogger("a.library").exception("Exception in ASGI application")
    lines = server_log().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert "correct horse" not in line and "jwk_local" not in line and "db-pass" not in line
        assert "RuntimeError: cannot reach postgresql://shop:***@db/jobwerk" in line
        assert "fail_deep" in line
        assert len(line) < 3 * jobwerk_logging.TRACE_CHARS


def test_json_lines_carry_the_error_and_where(server_log: ServerLog) -> None:
    try:
        fail_deep(0, "pw")
    except RuntimeError:
        structlog.get_logger("test").exception("step failed")
    output = server_log()
    if output.startswith("{"):
        entry = json.loads(output)
        assert entry["error"].startswith("RuntimeError: ")
        assert entry["where"].endswith("fail_deep")
        assert "exc_info" not in entry


def test_identical_failures_are_collapsed_into_a_count(server_log: ServerLog) -> None:
    log = structlog.get_logger("test")
    for _ in range(50):
        try:
            fail_deep(0, "pw")
        except RuntimeError:
            log.exception("database write failed")
        logging.getLogger("a.library").error("same foreign failure")
    log.error("another failure")
    assert len(server_log().splitlines()) == 3

    jobwerk_logging.collapser.flush(everything=True)
    summaries = server_log().splitlines()
    assert len(summaries) == 2
    assert all("repeated" in line and "49" in line for line in summaries)
    assert any("database write failed" in line and "first_at" in line for line in summaries)


EMBEDDED = """
import structlog
from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime

def fail(password):
    raise RuntimeError("no connection")

Runtime(Settings(data_dir={folder!r}, _env_file=None))
try:
    fail("correct horse battery")
except RuntimeError:
    structlog.get_logger("embedded").exception("step raised")
"""


def test_an_embedded_runtime_logs_failures_without_locals(tmp_path: Path) -> None:
    """Without the CLI configuring logging (an app served by ``uvicorn --factory``), the
    runtime does: structlog's own defaults would print each frame's variables."""
    script = EMBEDDED.format(folder=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    output = done.stdout + done.stderr
    assert "step raised" in output and "RuntimeError: no connection" in output
    assert "correct horse" not in output
