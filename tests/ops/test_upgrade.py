"""An upgrade keeps everything: the previous release (the wheel of commit 84aa5f0, kept in
``tests/fixtures/releases/``) makes a data folder and dies with a run executing and one queued;
this jobwerk then starts on that folder, migrates it, marks the executing run interrupted, runs
the queued one and the retry of the other, and every user, key, instance and secret still works.

The previous release is installed at test time into a virtual environment of its own that borrows
this environment's dependencies (a ``.pth`` file): no network, a few seconds. To move the fixture
to a newer release: ``git archive COMMIT | tar -x -C /tmp/release && pip wheel --no-deps
/tmp/release -w tests/fixtures/releases/COMMIT/`` and point ``RELEASE`` at it.
"""

from __future__ import annotations

import base64
import json
import site
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jobwerk.core.secrets import SecretBox
from jobwerk.storage.db import current_revision, head_revision, pending_migrations
from tests.ops._process import Server, environment, jobwerk, wait_for_run
from tests.support.temu import open_shop

RELEASE = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "releases"
    / "84aa5f0"
    / "jobwerk-0.1.0-py3-none-any.whl"
)
TABLES = ("instance", "auth_user", "auth_api_key", "docs_credential")
SCRAPER_PASSWORD = "intranet-password-17"


@pytest.fixture
def previous(tmp_path: Path) -> str:
    """The Python of an environment with the previous release installed."""
    folder = tmp_path / "previous"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = str(folder / "bin" / "python")
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    borrowed = [path for path in site.getsitepackages() if Path(path).is_dir()]
    (Path(purelib) / "borrowed-dependencies.pth").write_text("\n".join(borrowed) + "\n")
    _run(
        sys.executable,
        *("-m", "pip", "install", "--quiet", "--no-deps", "--no-index"),
        *("--target", purelib, str(RELEASE)),
    )
    location = _run(python, "-c", "import jobwerk; print(jobwerk.__file__)")
    assert location.startswith(purelib), f"the previous release is not the one imported: {location}"
    return python


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _rows(database: Path) -> tuple[dict[str, str], dict[str, tuple[Any, ...]], dict[str, int]]:
    """Runs with their status, jobs with their settings, and the count of the other tables."""
    with sqlite3.connect(database) as connection:
        runs = dict(connection.execute("SELECT id, status FROM run").fetchall())
        jobs = {
            row[0]: row[1:]
            for row in connection.execute(
                "SELECT id, workflow, instance_id, params, enabled, interval_minutes, cron FROM job"
            )
        }
        counts = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in TABLES
        }
    return runs, jobs, counts


async def _trigger(server: Server, path: str, **options: Any) -> str:
    async with server.client() as client:
        answer = await client.post(path, **options)
        assert answer.status_code == 202, answer.text
        run_id: str = answer.json()["run_id"]
        return run_id


def _made_by_previous(
    previous: str, data_dir: Path, shop_settings: dict[str, Any]
) -> dict[str, Any]:
    """Users, keys, a TEMU instance and a scraper credential made by the previous release,
    two finished runs; returns what the checks need."""
    env = environment(data_dir, JOBWERK_ENGINE__CONCURRENCY="1")
    for args, stdin in (
        (("instances", "create", "temu", "DE shop", "--settings", "-"), json.dumps(shop_settings)),
        (("jobs", "enable", "sync_orders"), None),
        (("users", "create", "alice", "--role", "operator", "--password-stdin"), "alice-pw-17"),
    ):
        done = jobwerk(*args, env=env, python=previous, stdin=stdin)
        assert done.returncode == 0, done.stderr
    viewer = jobwerk("keys", "create", "monitor", "--json", env=env, python=previous)
    return {"env": env, "viewer": json.loads(viewer.stdout)["key"]}


@pytest.mark.timeout(300)
async def test_the_current_release_takes_over_a_data_folder_of_the_previous_one(
    previous: str, tmp_path: Path
) -> None:
    shop = open_shop(tmp_path / "shop", seed=23)
    data_dir = tmp_path / "data"
    made = _made_by_previous(previous, data_dir, shop.settings())
    old = Server(made["env"], tmp_path / "previous.log", python=previous)
    new = Server(environment(data_dir), tmp_path / "current.log")
    try:
        await old.start()
        async with old.client() as client:
            credential = await client.post(
                "/api/v1/auth/credentials",
                json={
                    "name": "intranet",
                    "host": "docs.example.org",
                    "auth_type": "basic",
                    "username": "bot",
                    "password": SCRAPER_PASSWORD,
                },
            )
            assert credential.status_code == 201, credential.text
            demo = await _trigger(
                old, "/api/jobs/demo_example/run-now", json={"items": 2, "delay": 0}
            )
            assert (await wait_for_run(client, demo))["status"] == "completed"
            synced = await _trigger(old, "/api/temu/orders/sync", params={"days_back": 30})
            assert (await wait_for_run(client, synced))["status"].startswith("completed")
            # TEMU answers slowly now: the next sync is still executing when the server dies,
            # and the demo run waits for the only execution slot.
            shop.sandbox.inject_fault("latency", count=None, probability=1.0, latency=10)
            executing = await _trigger(old, "/api/temu/orders/sync", params={"days_back": 30})
            await wait_for_run(client, executing, "running")
            queued = await _trigger(old, "/api/jobs/demo_example/run-now", json={"items": 2})
            assert (await client.get(f"/api/v1/jobs/{queued}")).json()["status"] == "queued"
        await old.stop(kill=True)
        shop.sandbox.clear_faults()
        runs_before, jobs_before, counts_before = _rows(data_dir / "jobwerk.db")
        url = f"sqlite:///{data_dir / 'jobwerk.db'}"

        dry_run = jobwerk("db", "upgrade", "--dry-run", env=environment(data_dir))
        assert dry_run.returncode == 0, dry_run.stderr
        previous_revision, pending = pending_migrations(url)
        assert f"revision {previous_revision}" in dry_run.stdout
        for migration in pending:  # what this version adds (none when the schema is the same)
            assert f"{migration.revision}  {migration.description}" in dry_run.stdout
        assert current_revision(url) == previous_revision

        await new.start()

        assert current_revision(url) == head_revision()
        async with new.client() as client:
            interrupted = (await client.get(f"/api/v1/jobs/{executing}")).json()
            assert (interrupted["status"], interrupted["reason"]) == ("failed", "interrupted")
            assert (await wait_for_run(client, queued))["status"] == "completed"
            retried = (await client.post(f"/api/v1/jobs/{executing}/retry")).json()
            assert retried["retry_of"] == executing, retried
            again = await wait_for_run(client, retried["id"])
            assert again["status"].startswith("completed"), again  # secrets decrypt, TEMU agrees
            viewer = await client.get("/api/jobs", headers={"X-API-Key": made["viewer"]})
            assert viewer.status_code == 200
            login = await client.post(
                "/api/v1/auth/login", json={"username": "alice", "password": "alice-pw-17"}
            )
            assert login.status_code == 200, login.text
        runs_after, jobs_after, counts_after = _rows(data_dir / "jobwerk.db")
        assert counts_after == counts_before
        # Every job as it was (a new version may add jobs of its own).
        assert {job: jobs_after.get(job) for job in jobs_before} == jobs_before
        for run_id, status in runs_before.items():
            expected = "failed" if run_id == executing else status
            expected = "completed" if run_id == queued else expected
            assert runs_after[run_id] == expected
        box = SecretBox((data_dir / "secret.key").read_bytes().strip())
        with sqlite3.connect(data_dir / "jobwerk.db") as connection:
            sealed = connection.execute("SELECT secrets FROM docs_credential").fetchone()[0]
        basic = base64.b64encode(f"bot:{SCRAPER_PASSWORD}".encode()).decode()
        assert box.open(sealed)["headers"] == {"Authorization": f"Basic {basic}"}
    finally:
        await old.stop()
        await new.stop()
        shop.server.stop()
