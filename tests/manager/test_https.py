"""An HTTPS repository served by uvicorn with a certificate from a private CA: trusted through
the repository's ``ca_file``, refused without it (verification is never switched off)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from tests.api.conftest import ADMIN, free_port, serving
from tests.manager._helpers import NAME, add_repository, operate
from tests.manager._modules import Catalog
from tests.manager._tls import make_certificates


async def test_install_from_an_https_repository(
    client: httpx.AsyncClient, catalog: Catalog, tmp_path: Path
) -> None:
    catalog.publish(NAME, "1.0.0")
    ca_file, cert_file, key_file = make_certificates(tmp_path / "tls")
    files = FastAPI(openapi_url=None)
    files.mount("/catalog", StaticFiles(directory=catalog.root))
    port = free_port()
    async with serving(
        files, host="127.0.0.1", port=port, ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)
    ):
        url = f"https://127.0.0.1:{port}/catalog"
        await add_repository(client, url, "untrusted")
        listed = (await client.get("/repository/list", headers=ADMIN)).json()
        assert listed[0]["type"] == "https"
        assert "CERTIFICATE_VERIFY_FAILED" in listed[0]["error"]
        answer = await client.delete("/repository/untrusted", headers=ADMIN)
        assert answer.status_code == 204

        await add_repository(client, url, "remote", ca_file=str(ca_file))
        listed = (await client.get("/repository/list", headers=ADMIN)).json()
        assert listed[0]["error"] is None
        assert listed[0]["stats"] == {"total_modules": 1, "installed_modules": 0}
        done = await operate(
            client,
            "POST",
            "/repository/install",
            json={"module_name": NAME, "repository_id": "remote"},
        )
        assert done["status"] == "completed", done["error"]
    modules = (await client.get("/repository/modules?installed=true", headers=ADMIN)).json()
    assert modules["total"] == 0  # the server has stopped: nothing listed
    assert (tmp_path / "modules" / NAME / "1.0.0").is_dir()
