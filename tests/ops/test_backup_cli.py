"""``jobwerk backup``, ``jobwerk restore`` and ``jobwerk db upgrade --dry-run`` as an operator meets
them: archives named by date and kept N at a time, a scheduled backup job, and every archive a
restore must refuse refused with one line, a non-zero status and nothing written."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from jobwerk.cli import app
from jobwerk.storage.db import current_revision, upgrade_database

runner = CliRunner()
EXPORT = "data/exports/" + "e" * 32 + "/orders.xml"


def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout + (result.stderr if result.exit_code else "")


@pytest.fixture
def archive(data_dir: Path, tmp_path: Path) -> Path:
    """A backup of a data folder with the demo job, one export and a certificate."""
    assert invoke("jobs", "list")[0] == 0  # creates the database, the key and the jobs
    export = data_dir / EXPORT.removeprefix("data/")
    export.parent.mkdir(parents=True)
    export.write_text("<tBestellungen/>")
    (data_dir / "certificates").mkdir()
    (data_dir / "certificates" / "cert.pem").write_text("certificate")
    code, output = invoke("backup", str(tmp_path / "jobwerk.tar.gz"))
    assert code == 0, output
    return tmp_path / "jobwerk.tar.gz"


def rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes]) -> Path:
    """A copy of an archive with members changed by ``change(name, data)``."""
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for info in old.getmembers():
            stream = old.extractfile(info)
            data = change(info.name, stream.read() if stream else b"")
            info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    return target


def newer_schema(name: str, data: bytes) -> bytes:
    if name != "manifest.json":
        return data
    manifest = json.loads(data)
    manifest["schema_revision"] = "9999"
    return json.dumps(manifest).encode()


def tampered_export(name: str, data: bytes) -> bytes:
    return data.replace(b"tBestellungen", b"tBestellungXX") if name == EXPORT else data


def test_a_backup_names_its_parts_and_a_folder_keeps_the_newest(
    archive: Path, data_dir: Path, tmp_path: Path
) -> None:
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names[0] == "database/jobwerk.db" and names[-1] == "manifest.json"
    assert {"data/secret.key", "data/certificates/cert.pem", EXPORT} <= set(names)
    assert set(manifest["files"]) == set(names) - {"manifest.json"}
    assert manifest["schema_revision"] == current_revision(f"sqlite:///{data_dir / 'jobwerk.db'}")
    assert manifest["database"]["tool"].startswith("SQLite") and manifest["exports"] is True
    assert archive.stat().st_mode & 0o777 == 0o600

    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "keep-me.txt").write_text("not an archive")
    for _ in range(3):
        code, output = invoke("backup", f"{folder}/", "--keep", "2", "--no-exports", "--json")
        assert code == 0, output
    written = json.loads(output)
    assert written["exports"] is False and written["files"] == len(names) - 2
    assert sorted(path.name for path in folder.iterdir())[-1] == "keep-me.txt"
    assert len(list(folder.glob("jobwerk-backup-*.tar.gz"))) == 2
    assert len(written["removed"]) == 1


def test_restore_check_reads_every_member_and_writes_nothing(archive: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    code, output = invoke("restore", str(archive), "--check", env={"JOBWERK_DATA_DIR": str(target)})
    assert code == 0, output
    assert "sound, 4 checksums match" in output and "revision 0" in output
    assert not target.exists()


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("not an archive", 1, "is not a jobwerk backup archive"),
        ("cut short", 1, "is damaged"),
        ("a changed file", 1, f"{EXPORT} does not match its checksum"),
        ("a newer schema", 1, "schema revision 9999, newer than this jobwerk knows"),
        ("a folder with files", 2, "is not empty"),
        ("another secret key", 1, "JOBWERK_SECRET_KEY is set to another key"),
        ("PostgreSQL configured", 1, "holds a sqlite database, but the configured one"),
    ],
)
def test_restore_refuses_with_one_line_and_writes_nothing(
    archive: Path, tmp_path: Path, case: str, status: int, message: str
) -> None:
    target = tmp_path / "restored"
    env: dict[str, str | None] = {"JOBWERK_DATA_DIR": str(target)}
    bad = tmp_path / "bad.tar.gz"
    if case == "not an archive":
        bad.write_text("order export, not a backup\n")
    elif case == "cut short":
        bad.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    elif case == "a changed file":
        rewrite(archive, bad, tampered_export)
    elif case == "a newer schema":
        rewrite(archive, bad, newer_schema)
    else:
        bad = archive
    if case == "a folder with files":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    if case == "another secret key":
        env["JOBWERK_SECRET_KEY"] = Fernet.generate_key().decode()
    if case == "PostgreSQL configured":
        env["JOBWERK_DATABASE__URL"] = "postgresql://jobwerk@127.0.0.1:1/jobwerk"

    code, output = invoke("restore", str(bad), env=env)

    assert code == status, output
    assert message in output and output.count("\n") == 1, output
    leftovers = [path.name for path in tmp_path.iterdir() if "restoring" in path.name]
    assert not leftovers
    if case == "a folder with files":
        assert [path.name for path in target.iterdir()] == ["notes.txt"]
    else:
        assert not target.exists()


def test_a_modules_own_sqlite_database_is_copied_with_what_its_wal_holds(
    data_dir: Path, tmp_path: Path
) -> None:
    assert invoke("jobs", "list")[0] == 0
    folder = data_dir / "instances" / "acme" / ("a" * 32)
    folder.mkdir(parents=True)
    writer = sqlite3.connect(folder / "cache.db")
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the rows stay in cache.db-wal
    writer.execute("CREATE TABLE page (url TEXT)")
    writer.execute("INSERT INTO page VALUES ('https://docs.example.org/')")
    writer.commit()
    try:
        assert (folder / "cache.db-wal").stat().st_size > 0
        code, output = invoke("backup", str(tmp_path / "jobwerk.tar.gz"))
    finally:
        writer.close()
    assert code == 0, output
    restored = tmp_path / "restored"
    code, output = invoke(
        "restore", str(tmp_path / "jobwerk.tar.gz"), env={"JOBWERK_DATA_DIR": str(restored)}
    )
    assert code == 0, output
    copy = restored / folder.relative_to(data_dir)
    assert sorted(path.name for path in copy.iterdir()) == ["cache.db"]
    with sqlite3.connect(copy / "cache.db") as reader:
        assert reader.execute("SELECT url FROM page").fetchall() == [("https://docs.example.org/",)]


@pytest.mark.postgres
def test_a_postgresql_backup_is_a_pg_dump_restored_only_into_an_empty_database(
    data_dir: Path, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBWERK_DATABASE__URL", pg_url)
    assert invoke("jobs", "list")[0] == 0
    archive = tmp_path / "postgresql.tar.gz"

    code, output = invoke("backup", str(archive))

    assert code == 0, output
    assert "database  PostgreSQL postgresql://postgres@127.0.0.1:5432/jobwerk_test_" in output
    assert "(pg_dump " in output
    with tarfile.open(archive) as tar:
        assert "database/jobwerk.pgdump" in tar.getnames()
    elsewhere: dict[str, str | None] = {"JOBWERK_DATA_DIR": str(tmp_path / "restored")}
    code, output = invoke("restore", str(archive), env=elsewhere)  # the same, full database
    assert code == 2 and "already has tables; restore into an empty one" in output
    code, output = invoke("restore", str(archive), env=elsewhere | {"JOBWERK_DATABASE__URL": None})
    assert code == 1 and "holds a postgresql database, but the configured one" in output
    assert not (tmp_path / "restored").exists()


def test_a_scheduled_backup_is_a_job_that_writes_into_its_folder(
    data_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    code, output = invoke("backup", str(tmp_path / "one.tar.gz"), "--cron", "30 2 * * *")
    assert code == 2 and "need a folder" in output
    code, output = invoke("backup", f"{data_dir}/backups/", "--cron", "30 2 * * *")
    assert code == 2 and "outside the data folder" in output

    code, output = invoke(
        "backup", f"{folder}/", "--keep", "3", "--cron", "30 2 * * *", "--timezone", "Europe/Berlin"
    )
    assert code == 0, output
    assert "job system_backup: cron '30 2 * * *' (Europe/Berlin)" in output
    jobs = {job["job_id"]: job for job in json.loads(invoke("jobs", "list", "--json")[1])}
    assert jobs["system_backup"]["enabled"] is True
    assert jobs["system_backup"]["params"] == {"folder": str(folder), "keep": 3, "exports": True}

    code, output = invoke("jobs", "run", "system_backup", "--wait")
    assert code == 0, output
    assert len(list(folder.glob("jobwerk-backup-*.tar.gz"))) == 1


def test_db_upgrade_dry_run_lists_the_pending_migrations_and_changes_nothing(
    data_dir: Path,
) -> None:
    url = f"sqlite:///{data_dir / 'jobwerk.db'}"
    upgrade_database(url, "0005")

    code, output = invoke("db", "upgrade", "--dry-run")

    assert code == 0, output
    assert "at revision 0005" in output
    assert "0006  temu: per-attempt stock edit keys" in output and "0007  runs: who" in output
    assert current_revision(url) == "0005"
    assert invoke("db", "upgrade")[0] == 0
    assert "up to date, nothing to apply" in invoke("db", "upgrade", "--dry-run")[1]


def test_db_upgrade_dry_run_names_a_revision_of_a_newer_jobwerk(data_dir: Path) -> None:
    url = f"sqlite:///{data_dir / 'jobwerk.db'}"
    upgrade_database(url)
    with sqlite3.connect(data_dir / "jobwerk.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")

    code, output = invoke("db", "upgrade", "--dry-run")

    assert code == 1
    assert "revision 9999, which this jobwerk does not know" in output
