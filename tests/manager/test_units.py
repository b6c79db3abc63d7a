"""Pure checks: names, paths, wheel inspection limits, catalog version picks."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from jobwerk.errors import AppError
from jobwerk.manager import _wheel
from jobwerk.manager._safety import check_module_name, inside
from jobwerk.manager.catalog import CatalogEntry, check_repository_url, pick
from tests.support.manager import build_wheel


@pytest.mark.parametrize("name", ["a", "temu", "my-mod_2", "a" * 64])
def test_good_module_names(name: str) -> None:
    assert check_module_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "A", "1a", "_a", "-a", "a" * 65, "modül", "mod²", "٣", "a.b", "a/b", "a b"]
)
def test_bad_module_names(name: str) -> None:
    with pytest.raises(AppError) as refused:
        check_module_name(name)
    assert refused.value.status == 400


def test_paths_stay_inside_their_root(tmp_path: Path) -> None:
    assert inside(tmp_path, "a", "b") == (tmp_path / "a" / "b").resolve()
    (tmp_path / "link").symlink_to("/etc")
    for parts in (("..",), ("a", "..", "..", "x"), ("/etc",), ("link", "passwd")):
        with pytest.raises(AppError) as denied:
            inside(tmp_path, *parts)
        assert denied.value.status == 403


@pytest.mark.parametrize(
    "url",
    ["http://x", "ftp://x", "file://host/x", "file:relative", "https://", "x", "https://u:p@x"],
)
def test_repository_urls_must_be_https_or_absolute_folders(url: str) -> None:
    with pytest.raises(AppError):
        check_repository_url(url)


def test_wheel_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = build_wheel(tmp_path, "acme", "1.0.0")
    assert _wheel.inspect_wheel(wheel).entry_points == {"acme": "acme_pkg:module"}
    monkeypatch.setattr(_wheel, "MAX_UNPACKED_BYTES", 100)
    with pytest.raises(_wheel.ArchiveRefused, match="size limit"):
        _wheel.inspect_wheel(wheel)
    monkeypatch.setattr(_wheel, "MAX_MEMBERS", 2)
    with pytest.raises(_wheel.ArchiveRefused, match="too many members"):
        _wheel.inspect_wheel(wheel)
    (tmp_path / "junk.whl").write_bytes(b"not a zip")
    with pytest.raises(_wheel.ArchiveRefused, match="not a wheel"):
        _wheel.inspect_wheel(tmp_path / "junk.whl")


def test_a_wheel_without_a_module_entry_point_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "plain-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("plain/__init__.py", "")
        archive.writestr("plain-1.0.dist-info/METADATA", "Name: plain\nVersion: 1.0\n")
        archive.writestr("plain-1.0.dist-info/entry_points.txt", "[console_scripts]\nx = y:z\n")
    with pytest.raises(_wheel.ArchiveRefused, match="entry point"):
        _wheel.inspect_wheel(wheel)


def _entry(version: str, requires: str = ">=0.1") -> CatalogEntry:
    return CatalogEntry(
        name="acme", version=version, requires_jobwerk=requires, sha256="0" * 64, archive="a.whl"
    )


def test_pick_prefers_the_newest_final_release_that_fits() -> None:
    entries = [_entry("1.0.0"), _entry("1.5.0"), _entry("2.0.0rc1"), _entry("3.0.0", ">=9")]
    assert pick(entries, "acme", None).version == "1.5.0"
    assert pick(entries, "acme", "2.0.0rc1").version == "2.0.0rc1"
    with pytest.raises(AppError) as missing:
        pick(entries, "acme", "7.0")
    assert missing.value.status == 404
    with pytest.raises(AppError) as unfit:
        pick([_entry("3.0.0", ">=9")], "acme", None)
    assert unfit.value.status == 409 and "needs jobwerk >=9" in unfit.value.message
