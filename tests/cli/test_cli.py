"""The CLI through Typer's runner and as a real subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from jobwerk.cli import app
from jobwerk.core import auth
from jobwerk.core.login import HashGate
from jobwerk.manager.models import ModuleOperation
from jobwerk.storage.auth_models import AuthSession
from jobwerk.storage.db import Database

pytestmark = pytest.mark.usefixtures("data_dir")
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr if result.exit_code else result.stdout


def test_jobs_list_shows_the_default_jobs_as_json() -> None:
    code, output = invoke("jobs", "list", "--json")
    assert code == 0
    jobs = json.loads(output)
    assert [job["job_id"] for job in jobs] == ["demo_example"]
    assert jobs[0]["interval_minutes"] == 15


def test_run_with_wait_follows_the_run_and_reports_failure_by_exit_code() -> None:
    code, output = invoke(
        "jobs", "run", "demo_example", "-p", "items=3", "-p", "delay=0", "--wait", "--json"
    )
    assert code == 0, output
    assert json.loads(output)["status"] == "completed"
    # Warnings are a success of their own kind: shown as such, exit status 0.
    code, output = invoke(
        "jobs", "run", "demo_example", "-p", "items=1", "-p", "delay=0", "-p", "flaky=true",
        "--wait", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(output)["status"] == "completed_with_warnings"
    code, output = invoke(
        "jobs",
        "run",
        "demo_example",
        "-p",
        "items=3",
        "-p",
        "delay=0",
        "-p",
        "fail_in=publish",
        "--wait",
        "--json",
    )
    assert code == 1
    failed = json.loads(output)
    assert failed["status"] == "failed" and failed["error"].startswith("publish:")
    code, output = invoke("runs", "retry", failed["run_id"], "--json")
    assert code == 0 and json.loads(output)["retry_of_run_id"] == failed["run_id"]


def test_bad_parameters_and_unknown_jobs_are_clear_errors() -> None:
    code, output = invoke("jobs", "run", "demo_example", "-p", "items=lots")
    assert code == 2
    assert "invalid parameters for demo.example: items: Input should be a valid integer" in output
    assert "params.items" not in output  # one line, not the message and then pydantic's list
    code, output = invoke("jobs", "run", "demo_example", "-p", "itemz=5")
    assert code == 2
    assert "unknown parameter 'itemz' (did you mean 'items'?) for demo.example" in output
    assert "valid: delay, fail_in, flaky, items" in output
    code, output = invoke("runs", "list", "--status", "bogus")
    assert code == 2 and "bogus" in output and "completed_with_warnings" in output
    code, output = invoke("jobs", "run", "nope")
    assert (code, "Job 'nope' not found" in output) == (1, True)


def test_schedule_enable_disable() -> None:
    code, output = invoke(
        "jobs",
        "schedule",
        "demo_example",
        "--cron",
        "0 6 * * mon-fri",
        "--timezone",
        "Europe/Berlin",
        "--json",
    )
    assert code == 0
    assert json.loads(output)["cron"] == "0 6 * * mon-fri"
    code, output = invoke("jobs", "schedule", "demo_example", "--cron", "0 25 * * *")
    assert code == 2 and "invalid cron expression" in output
    code, output = invoke("jobs", "disable", "demo_example", "--json")
    assert json.loads(output)["enabled"] is False
    code, output = invoke("jobs", "run", "demo_example")
    assert code == 1 and "disabled" in output
    code, _ = invoke("jobs", "enable", "demo_example")
    assert code == 0


def test_runs_list_show_logs_cancel() -> None:
    _, output = invoke(
        "jobs", "run", "demo_example", "-p", "items=2", "-p", "delay=0", "--wait", "--json"
    )
    run_id = json.loads(output)["run_id"]
    code, output = invoke("runs", "list", "--status", "completed", "--json")
    assert code == 0 and [run["id"] for run in json.loads(output)] == [run_id]
    code, output = invoke("runs", "show", run_id, "--json")
    assert [step["status"] for step in json.loads(output)["steps"]] == ["completed"] * 3
    code, output = invoke("runs", "logs", run_id, "--step", "collect", "--json")
    assert code == 0 and {line["step"] for line in json.loads(output)} == {"collect"}
    code, output = invoke("runs", "cancel", run_id)
    assert code == 1 and "already finished" in output


def test_instances_are_created_and_made_primary_through_the_manager(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setenv("JOBWERK_MODULES", '["temu"]')
    shop = json.dumps(
        {"app_key": "k", "app_secret": "s", "access_token": "t", "jtl_url": "sqlite:///jtl.db"}
    )
    code, output = invoke("instances", "create", "temu", "first", "--settings", shop, "--json")
    assert code == 0, output
    first = json.loads(output)
    assert first["is_primary"] is True
    _, output = invoke("instances", "create", "temu", "second", "--settings", shop, "--json")
    second = json.loads(output)
    code, output = invoke("instances", "set-primary", second["instance_id"], "--json")
    assert code == 0 and json.loads(output)["is_primary"] is True
    _, output = invoke("instances", "list", "--json")
    assert [i["name"] for i in json.loads(output) if i["is_primary"]] == ["second"]
    # The same operations the API starts: in the history, by the command line's user.
    history = asyncio.run(_operations(data_dir))
    assert [kind for kind, _ in history] == ["install_instance", "install_instance", "set_primary"]
    assert all(by.startswith("cli:") for _, by in history)
    code, output = invoke("instances", "set-primary", "not-an-id")
    assert code == 1 and "32 hexadecimal" in output
    code, output = invoke("instances", "create", "demo", "x")
    assert code == 1 and "module 'demo' is not installed" in output


async def _operations(data_dir: Path) -> list[tuple[str, str]]:
    database = Database(f"sqlite+aiosqlite:///{data_dir / 'jobwerk.db'}")
    try:
        async with database.session() as session:
            rows = await session.execute(
                select(ModuleOperation.type, ModuleOperation.requested_by).order_by(
                    ModuleOperation.created_at
                )
            )
            return [(kind, by or "") for kind, by in rows]
    finally:
        await database.dispose()


def test_the_cli_runs_as_a_subprocess_and_refuses_invalid_settings(data_dir: Path) -> None:
    env = {**os.environ, "JOBWERK_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "jobwerk", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "revision" in done.stdout
    env["JOBWERK_API__PORT"] = "not-a-port"
    done = subprocess.run(
        [sys.executable, "-m", "jobwerk", "jobs", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "JOBWERK_API__PORT" in done.stderr


@pytest.mark.parametrize("command", [("jobs", "list"), ("serve",), ("worker",)])
def test_an_unreachable_database_is_a_message_not_a_traceback(
    data_dir: Path, command: tuple[str, ...]
) -> None:
    env = {
        **os.environ,
        "JOBWERK_DATA_DIR": str(data_dir),
        "JOBWERK_DATABASE__URL": "postgresql://shop:s3cret@127.0.0.1:9/jobwerk",
    }
    done = subprocess.run(
        [sys.executable, "-m", "jobwerk", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    message = " ".join(done.stderr.split())
    assert done.returncode == 1, done.stderr
    assert "shop:***@127.0.0.1:9/jobwerk does not answer" in message
    assert "JOBWERK_DATABASE__URL" in message
    assert "Traceback" not in done.stderr and "s3cret" not in done.stderr


def test_module_commands_are_mounted(data_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jobwerk", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    for command in ("scrape", "temu-sandbox", "temu", "users", "keys"):
        assert f" {command} " in done.stdout


def test_runs_are_found_by_a_unique_prefix_and_ids_are_never_cut() -> None:
    code, output = invoke(
        "jobs", "run", "demo_example", "-p", "items=1", "-p", "delay=0", "--wait", "--json"
    )
    run_id = json.loads(output)["run_id"]
    code, output = invoke("runs", "show", run_id[:6], "--json")
    assert code == 0, output
    shown = json.loads(output)
    assert shown["id"] == run_id and shown["started_by"].startswith("cli:")
    assert (shown["trigger"], shown["status"]) == ("cli", "completed")
    code, output = invoke("runs", "show", run_id[:8])
    assert code == 0 and "started by cli:" in output and "parameters: items=1, delay=0.0" in output
    code, output = invoke("runs", "show", run_id[:3])
    assert code == 1 and f"Run '{run_id[:3]}' not found" in output
    result = runner.invoke(app, ["runs", "list"], terminal_width=60)
    assert run_id in result.stdout  # a narrow, non-terminal output still carries the whole id


async def _sessions_then_login(data_dir: Path, password: str) -> tuple[int, bool]:
    """How many login sessions exist, then whether anna logs in with ``password``."""
    database = Database(f"sqlite+aiosqlite:///{data_dir / 'jobwerk.db'}")
    try:
        async with database.read() as session:
            sessions = await session.scalar(select(func.count()).select_from(AuthSession))
        logged_in = await auth.login(database, HashGate(), "anna", password, 1)
        return sessions or 0, logged_in is not None
    finally:
        await database.dispose()


def test_users_set_password_replaces_it_and_ends_the_users_sessions(data_dir: Path) -> None:
    created = runner.invoke(
        app, ["users", "create", "anna", "--password-stdin"], input="old-pw-1\n"
    )
    assert created.exit_code == 0, created.output
    assert asyncio.run(_sessions_then_login(data_dir, "old-pw-1")) == (0, True)
    # Asked twice, hidden, as for a new user.
    changed = runner.invoke(app, ["users", "set-password", "anna"], input="new-pw-1\nnew-pw-1\n")
    assert changed.exit_code == 0, changed.output
    assert "new-pw-1" not in changed.output
    assert asyncio.run(_sessions_then_login(data_dir, "old-pw-1")) == (0, False)
    assert asyncio.run(_sessions_then_login(data_dir, "new-pw-1")) == (0, True)
    unknown = runner.invoke(
        app, ["users", "set-password", "nobody", "--password-stdin"], input="new-pw-1\n"
    )
    assert (unknown.exit_code, "user 'nobody' not found" in unknown.output) == (1, True)
    short = runner.invoke(app, ["users", "set-password", "anna", "--password-stdin"], input="x\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.output


def test_help_shows_flags_as_flags() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "jobwerk", "runs", "list", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--json" in shown and "<bool>" not in shown
    assert "completed_with_warnings" in shown


def test_runs_delete_removes_the_run_and_its_exports(data_dir: Path) -> None:
    code, output = invoke(
        "jobs", "run", "demo_example", "-p", "items=1", "-p", "delay=0", "--wait", "--json"
    )
    run_id = json.loads(output)["run_id"]
    folder = data_dir / "exports" / run_id
    folder.mkdir(parents=True)
    (folder / "orders.xml").write_text("<tBestellungen/>")
    code, output = invoke("runs", "delete", run_id[:8], "--json")
    assert code == 0 and json.loads(output) == {"id": run_id, "action": "deleted", "status": None}
    assert not folder.exists()
    code, output = invoke("runs", "show", run_id)
    assert code == 1 and "not found" in output
