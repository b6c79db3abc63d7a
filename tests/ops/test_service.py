"""Installing jobwerk as a service: the systemd units ``jobwerk install-service`` writes pass
``systemd-analyze verify`` and its hardening rating, and the logrotate rule in ``deploy/`` rotates
a log that the service keeps open for appending."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from jobwerk.cli import app
from tests.ops._process import require_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("jobwerk.service", "jobwerk-worker.service")
# systemd-analyze security: 0 is locked down, 10 is exposed; "OK" ends at 3.9 (systemd 252).
MOST_EXPOSURE = 2.5
runner = CliRunner()


def test_install_service_writes_units_that_systemd_accepts(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    units, data_dir = tmp_path / "units", tmp_path / "data"
    options = ["--output", str(units), "--data-dir", str(data_dir), "--user", "shop"]
    extra = ["--log-file", "/var/log/jobwerk/jobwerk.log", "--backup-dir", "/srv/backup/jobwerk"]

    written = runner.invoke(app, ["install-service", *options, *extra])

    assert written.exit_code == 0, written.output
    assert "systemctl enable --now jobwerk" in written.output
    for name, command in zip(UNITS, ("serve", "worker"), strict=True):
        path = units / name
        unit = path.read_text()
        for line in (
            "User=shop",
            f"Environment=JOBWERK_DATA_DIR={data_dir}",
            f"ReadWritePaths={data_dir} /tmp -/srv/backup/jobwerk",
            "Restart=on-failure",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "StandardError=append:/var/log/jobwerk/jobwerk.log",
        ):
            assert f"\n{line}\n" in unit, line
        assert re.search(rf"^ExecStart=\S+ {command}$", unit, re.MULTILINE), unit
        verified = subprocess.run(
            [analyze, "verify", str(path)], capture_output=True, text=True, check=False
        )
        assert verified.returncode == 0 and name not in verified.stdout + verified.stderr, (
            verified.stdout + verified.stderr
        )
        rated = subprocess.run(
            [analyze, "security", "--offline=yes", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        exposure = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", rated.stdout)
        assert exposure is not None, rated.stdout + rated.stderr
        assert float(exposure.group(1)) <= MOST_EXPOSURE, rated.stdout

    again = runner.invoke(app, ["install-service", *options])
    assert again.exit_code == 2 and "--force replaces them" in again.output
    assert runner.invoke(app, ["install-service", *options, "--force"]).exit_code == 0
    assert "StandardError" not in (units / UNITS[0]).read_text()


def test_the_logrotate_rule_rotates_a_log_the_service_keeps_open(tmp_path: Path) -> None:
    logrotate = require_tool("logrotate")
    folder = tmp_path / "log"
    folder.mkdir()
    rule = (DEPLOY / "logrotate").read_text()
    assert "/var/log/jobwerk/*.log {" in rule
    config = tmp_path / "jobwerk"
    config.write_text(rule.replace("/var/log/jobwerk/", f"{folder}/"))
    log = folder / "jobwerk.log"

    with log.open("a") as service:  # as systemd's StandardError=append: holds it
        service.write("before the rotation\n")
        service.flush()
        rotated = subprocess.run(
            [logrotate, "--force", "--state", str(tmp_path / "state"), str(config)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert rotated.returncode == 0, rotated.stderr
        service.write("after the rotation\n")
        service.flush()

    assert (folder / "jobwerk.log.1").read_text() == "before the rotation\n"
    assert log.read_text() == "after the rotation\n"  # emptied in place, appended from the start
