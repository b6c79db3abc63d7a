"""``jobwerk repos``, ``jobwerk modules`` and the instance settings commands through Typer's
runner on a temporary data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jobwerk.cli import app
from tests.support.manager import NAME, Catalog

runner = CliRunner()


@pytest.fixture(autouse=True)
def demo_only(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI on ``data_dir`` with the demo module as the only built-in one."""
    monkeypatch.setenv("JOBWERK_MODULES", '["demo"]')


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr if result.exit_code else result.stdout


def invoke_json(*args: str) -> Any:
    code, output = invoke(*args, "--json")
    assert code == 0, output
    return json.loads(output)


def test_repos_modules_and_instance_settings(catalog: Catalog, data_dir: Path) -> None:
    catalog.publish(NAME, "1.0.0")
    code, output = invoke("repos", "add", "local", catalog.url)
    assert code == 0, output
    [repository] = invoke_json("repos", "list")
    assert repository["stats"]["total_modules"] == 1
    code, output = invoke("repos", "add", "bad", "http://example.com")
    assert code == 1 and "file:///" in output
    code, output = invoke("repos", "add", "missing", "file:///nonexistent")
    assert code == 2 and "/nonexistent/index.json does not exist" in output
    assert [entry["id"] for entry in invoke_json("repos", "list")] == ["local"]

    assert invoke_json("modules", "install", NAME)["status"] == "completed"
    modules = {module["name"]: module for module in invoke_json("modules", "list")}
    assert modules[NAME]["version"] == "1.0.0" and modules[NAME]["source"] == "installed"

    created = invoke_json("instances", "create", NAME, "shop-a", "--settings", '{"shop": "a"}')
    instance_id = created["instance_id"]
    jobs = [job for job in invoke_json("jobs", "list") if job["instance_id"] == instance_id]
    assert jobs and not any(job["enabled"] for job in jobs)  # a new shop waits to be enabled
    changed = invoke_json("instances", "set", instance_id, "region=us", "token=s3cret")
    assert changed["settings"] == {"shop": "a", "region": "us"}
    assert changed["secrets"] == {"token": True}
    code, output = invoke("instances", "show", instance_id)
    assert code == 0 and "s3cret" not in output and "(set)" in output
    code, output = invoke("instances", "set", instance_id, "region=5")
    assert code == 2 and "region" in output
    code, output = invoke("instances", "set", instance_id, "no-equals-sign")
    assert code == 2

    catalog.publish(NAME, "2.0.0")
    updated = invoke_json("modules", "update", NAME)
    assert updated["status"] == "completed" and updated["restart_required"] is True
    assert {m["name"]: m for m in invoke_json("modules", "list")}[NAME]["version"] == "2.0.0"
    assert invoke_json("modules", "rollback", NAME)["status"] == "completed"
    assert {m["name"]: m for m in invoke_json("modules", "list")}[NAME]["version"] == "1.0.0"

    code, output = invoke("modules", "uninstall", NAME)
    assert code == 1 and "instance" in output
    assert invoke_json("instances", "delete", instance_id)["status"] == "completed"
    assert invoke_json("modules", "uninstall", NAME)["status"] == "completed"
    assert not (data_dir / "modules" / NAME).exists()
    code, output = invoke("repos", "remove", "local")
    assert code == 0
    assert invoke_json("repos", "list") == []


def test_an_installed_modules_commands_join_jobwerk(catalog: Catalog, data_dir: Path) -> None:
    catalog.publish(NAME, "1.0.0")
    assert invoke("repos", "add", "local", catalog.url)[0] == 0
    assert invoke_json("modules", "install", NAME)["status"] == "completed"
    done = subprocess.run(
        [sys.executable, "-m", "jobwerk", NAME, "hello", "--name", "Erika"],
        env={**os.environ, "JOBWERK_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello Erika from 1.0.0"
