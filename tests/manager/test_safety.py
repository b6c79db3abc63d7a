"""Archives with traversal paths, links or a wrong checksum are refused and leave nothing behind;
catalog paths that leave the repository are refused with 403."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.api import ADMIN
from tests.support.manager import NAME, Catalog, add_repository, build_wheel, operate, sha256


def _add_member(wheel: Path, info: zipfile.ZipInfo, data: bytes) -> None:
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr(info, data)


def _link(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (zipfile.ZipInfo("../escape.py"), "leaves the target folder"),
        (zipfile.ZipInfo("acme_pkg/../../escape.py"), "leaves the target folder"),
        (zipfile.ZipInfo("/etc/cron.d/evil"), "absolute or unsafe path"),
        (_link("acme_pkg/passwd", "/etc/passwd"), "link or special file"),
    ],
)
async def test_unsafe_archives_are_refused(
    api: httpx.AsyncClient,
    catalog: Catalog,
    tmp_path: Path,
    member: zipfile.ZipInfo,
    reason: str,
) -> None:
    wheel = build_wheel(catalog.root / NAME / "1.0.0", NAME, "1.0.0")
    _add_member(wheel, member, b"/etc/passwd")
    catalog.add(NAME, "1.0.0", wheel)
    await add_repository(api, catalog.url)
    done = await operate(api, "POST", "/repository/install", json={"module_name": NAME})
    assert done["status"] == "failed"
    assert reason in done["error"]
    assert [s["status"] for s in done["steps"][:3]] == ["done", "failed", "pending"]
    assert not (tmp_path / "modules" / NAME).exists()
    assert not (tmp_path / "escape.py").exists()
    assert list((tmp_path / "modules" / ".staging").glob("*")) == []


async def test_a_wrong_checksum_is_refused(
    api: httpx.AsyncClient, catalog: Catalog, tmp_path: Path
) -> None:
    catalog.publish(NAME, "1.0.0", checksum="0" * 64)
    await add_repository(api, catalog.url)
    done = await operate(api, "POST", "/repository/install", json={"module_name": NAME})
    assert done["status"] == "failed" and "SHA-256 mismatch" in done["error"]
    assert not (tmp_path / "modules" / NAME).exists()


async def test_catalog_paths_outside_the_repository_are_denied(
    api: httpx.AsyncClient, catalog: Catalog, tmp_path: Path
) -> None:
    outside = build_wheel(tmp_path / "elsewhere", NAME, "1.0.0")
    catalog.entries.append(
        {
            "name": NAME,
            "version": "1.0.0",
            "sha256": sha256(outside),
            "archive": "../elsewhere/" + outside.name,
        }
    )
    catalog.save()
    await add_repository(api, catalog.url)
    done = await operate(api, "POST", "/repository/install", json={"module_name": NAME})
    assert done["status"] == "failed" and "Access denied" in done["error"]


async def test_a_module_that_would_shadow_an_installed_package_is_refused(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    catalog.publish(NAME, "1.0.0", extra_members={"httpx/__init__.py": b"raise SystemExit\n"})
    await add_repository(api, catalog.url)
    done = await operate(api, "POST", "/repository/install", json={"module_name": NAME})
    assert done["status"] == "failed" and "shadow" in done["error"]


async def test_an_incompatible_module_names_no_fitting_version(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    wheel = build_wheel(catalog.root / NAME / "9.0.0", NAME, "9.0.0")
    catalog.add(NAME, "9.0.0", wheel, requires_jobwerk=">=99")
    await add_repository(api, catalog.url)
    answer = await api.post("/repository/install", json={"module_name": NAME}, headers=ADMIN)
    assert answer.status_code == 409 and "needs jobwerk >=99" in answer.text
    pinned = await operate(
        api, "POST", "/repository/install", json={"module_name": NAME, "version": "9.0.0"}
    )
    assert pinned["status"] == "failed" and "needs jobwerk >=99" in pinned["error"]
    modules = (await api.get("/repository/modules", headers=ADMIN)).json()["modules"]
    assert modules[0]["status"] == "incompatible"
