"""An HTTPS repository served by uvicorn with a certificate from a private CA: trusted through
the repository's ``ca_file``, refused without it (verification is never switched off)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from tests.support.api import ADMIN, free_port, serving
from tests.support.manager import NAME, Catalog, add_repository, operate
from tests.support.tls import make_certificates


async def test_install_from_an_https_repository(
    api: httpx.AsyncClient, catalog: Catalog, tmp_path: Path
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
        await add_repository(api, url, "untrusted")
        listed = (await api.get("/repository/list", headers=ADMIN)).json()
        assert listed[0]["type"] == "https"
        assert "CERTIFICATE_VERIFY_FAILED" in listed[0]["error"]
        answer = await api.delete("/repository/untrusted", headers=ADMIN)
        assert answer.status_code == 204

        await add_repository(api, url, "remote", ca_file=str(ca_file))
        listed = (await api.get("/repository/list", headers=ADMIN)).json()
        assert listed[0]["error"] is None
        assert listed[0]["stats"] == {"total_modules": 1, "installed_modules": 0}
        done = await operate(
            api,
            "POST",
            "/repository/install",
            json={"module_name": NAME, "repository_id": "remote"},
        )
        assert done["status"] == "completed", done["error"]
    modules = (await api.get("/repository/modules?installed=true", headers=ADMIN)).json()
    assert modules["total"] == 0  # the server has stopped: nothing listed
    assert (tmp_path / "modules" / NAME / "1.0.0").is_dir()
