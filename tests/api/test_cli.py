"""``jobwerk users`` / ``jobwerk keys`` and the TLS choice of ``jobwerk serve``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from typer.testing import CliRunner

from jobwerk.cli import app as cli
from jobwerk.cli._serve import find_tls_files, uvicorn_options
from jobwerk.config import Settings
from tests.support.api import free_port, http_client, make_settings, running_app, serving


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"JOBWERK_DATA_DIR": str(tmp_path), "JOBWERK_MODULES": '["demo"]'}


async def status_with(settings: Settings, headers: dict[str, str], path: str) -> int:
    async with running_app(settings) as app, http_client(app) as api:
        return (await api.get(path, headers=headers)).status_code


def test_keys_create_json_list_and_revoke(tmp_path: Path, env: dict[str, str]) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create", "ci", "--role", "operator", "--json"], env=env)
    assert created.exit_code == 0, created.output
    answer = json.loads(created.stdout)
    assert answer["name"] == "ci" and answer["role"] == "operator"
    key = answer["key"]
    settings = make_settings(tmp_path)
    assert asyncio.run(status_with(settings, {"X-API-Key": key}, "/api/jobs")) == 200
    listed = runner.invoke(cli, ["keys", "list", "--json"], env=env)
    assert key not in listed.stdout and '"ci"' in listed.stdout
    assert runner.invoke(cli, ["keys", "revoke", "ci"], env=env).exit_code == 0
    assert asyncio.run(status_with(settings, {"X-API-Key": key}, "/api/jobs")) == 401
    again = runner.invoke(cli, ["keys", "create", "ci"], env=env)
    assert again.exit_code == 1


def test_users_create_from_stdin_then_login(tmp_path: Path, env: dict[str, str]) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli,
        ["users", "create", "root", "--role", "admin", "--password-stdin"],
        input="a long password\n",
        env=env,
    )
    assert created.exit_code == 0, created.output

    async def login() -> int:
        async with running_app(make_settings(tmp_path)) as app, http_client(app) as api:
            body = {"username": "root", "password": "a long password"}
            answer = await api.post("/api/v1/auth/login", json=body)
            return (await api.get("/api/v1/auth/users")).status_code if answer.is_success else 0

    assert asyncio.run(login()) == 200
    listed = runner.invoke(cli, ["users", "list", "--json"], env=env)
    assert json.loads(listed.stdout)[0]["role"] == "admin"
    short = runner.invoke(
        cli, ["users", "create", "x", "--password-stdin"], input="short\n", env=env
    )
    assert short.exit_code == 2


def self_signed(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True)
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_plain_http_on_loopback_without_certificates(api_settings: Settings) -> None:
    assert find_tls_files(api_settings) is None
    options = uvicorn_options(api_settings, None)
    assert options == {"host": "127.0.0.1", "port": 8000}


async def test_https_with_certificates_in_the_data_folder(
    api_settings: Settings, app: FastAPI
) -> None:
    self_signed(api_settings.data_dir / "certificates")
    assert uvicorn_options(api_settings, None)["port"] == 8443
    options = uvicorn_options(api_settings, free_port())
    async with serving(app, **options), httpx.AsyncClient(verify=False) as client:
        answer = await client.get(f"https://127.0.0.1:{options['port']}/health")
    assert answer.json()["status"] == "ok"


def test_configured_certificate_wins_and_half_a_pair_is_refused(
    api_settings: Settings, tmp_path: Path
) -> None:
    own = tmp_path / "own"
    self_signed(own)
    self_signed(api_settings.data_dir / "certificates")
    api = api_settings.api.model_copy(
        update={"tls_cert": own / "cert.pem", "tls_key": own / "key.pem"}
    )
    options = uvicorn_options(api_settings.model_copy(update={"api": api}), None)
    assert options["ssl_certfile"] == str(own / "cert.pem") and options["port"] == 8443
    half = api_settings.api.model_copy(update={"tls_cert": own / "cert.pem"})
    with pytest.raises(typer.BadParameter, match="TLS_CERT and __TLS_KEY"):
        find_tls_files(api_settings.model_copy(update={"api": half}))
