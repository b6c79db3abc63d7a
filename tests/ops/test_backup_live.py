"""The operator's path with real processes: ``jobwerk backup`` while ``jobwerk serve`` runs (HTTPS,
a TEMU shop, a run executing), ``jobwerk restore`` into an empty folder, and ``jobwerk serve`` on
that folder: every run there, certificates served, secrets decrypt, a TEMU sync runs."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jobwerk.cli import app
from tests.ops._process import Server, environment, jobwerk, wait_for_run
from tests.support.temu import open_shop
from tests.support.tls import make_certificates

runner = CliRunner()


def _prepare(data_dir: Path, tmp_path: Path, shop_settings: dict[str, Any]) -> Path:
    """A data folder with a certificate and a TEMU instance whose order job is enabled;
    returns the CA that signed the certificate. (The CLI runs its own event loop: call this in
    a thread.)"""
    ca, certificate, key = make_certificates(tmp_path / "tls")
    (data_dir / "certificates").mkdir(parents=True)
    shutil.copy(certificate, data_dir / "certificates" / "cert.pem")
    shutil.copy(key, data_dir / "certificates" / "key.pem")
    env = {"JOBWERK_DATA_DIR": str(data_dir)}
    for command, stdin in (
        (["instances", "create", "temu", "DE shop", "--settings", "-"], json.dumps(shop_settings)),
        (["jobs", "enable", "sync_orders"], None),
    ):
        result = runner.invoke(app, command, input=stdin, env=env)
        assert result.exit_code == 0, result.output
    return ca


async def _runs(server: Server) -> dict[str, str]:
    async with server.client() as client:
        page = (await client.get("/api/v1/jobs", params={"limit": 100})).json()
    return {run["id"]: run["status"] for run in page["jobs"]}


async def _sync_orders(server: Server) -> dict[str, Any]:
    async with server.client() as client:
        answer = await client.post("/api/temu/orders/sync", params={"days_back": 30})
        assert answer.status_code == 202, answer.text
        return await wait_for_run(client, answer.json()["run_id"])


@pytest.mark.timeout(300)
async def test_backup_while_serving_then_restore_and_serve_again(tmp_path: Path) -> None:
    shop = open_shop(tmp_path / "shop", seed=17)
    source, restored = tmp_path / "source", tmp_path / "restored"
    ca = await asyncio.to_thread(_prepare, source, tmp_path, shop.settings())
    trusted = ssl.create_default_context(cafile=ca)
    first = Server(environment(source), tmp_path / "source.log", scheme="https", verify=trusted)
    second = Server(
        environment(restored), tmp_path / "restored.log", scheme="https", verify=trusted
    )
    try:
        await first.start()
        synced = await _sync_orders(first)
        assert synced["status"].startswith("completed"), synced
        async with first.client() as client:
            exports = (await client.get(f"/api/v1/exports/{synced['id']}/metadata")).json()
            answer = await client.post(
                "/api/jobs/demo_example/run-now", json={"items": 100_000, "delay": 0.01}
            )
            executing = answer.json()["run_id"]
            await wait_for_run(client, executing, "running")
        before = await _runs(first)

        made = jobwerk("backup", str(tmp_path / "jobwerk.tar.gz"), env=environment(source))

        assert made.returncode == 0, made.stderr
        assert "SQLite" in made.stdout and "online backup" in made.stdout, made.stdout
        assert "1 instances" in made.stdout and "certificates" not in made.stderr
        async with first.client() as client:
            assert (await client.get(f"/api/v1/jobs/{executing}")).json()["status"] == "running"
        await first.stop()

        back = jobwerk("restore", str(tmp_path / "jobwerk.tar.gz"), env=environment(restored))

        assert back.returncode == 0, back.stderr
        assert "1 run(s) were executing when the backup was taken" in back.stdout
        await second.start()  # HTTPS: the restored certificate
        after = await _runs(second)
        assert after == before | {executing: "failed"}
        async with second.client() as client:
            interrupted = (await client.get(f"/api/v1/jobs/{executing}")).json()
            assert interrupted["reason"] == "interrupted"
            copied = (await client.get(f"/api/v1/exports/{synced['id']}/metadata")).json()
            assert copied["files"] == exports["files"] and exports["file_count"] > 0
        synced_again = await _sync_orders(second)  # the secrets decrypt; TEMU accepts the calls
        assert synced_again["status"].startswith("completed"), synced_again
    finally:
        await first.stop()
        await second.stop()
        shop.server.stop()
