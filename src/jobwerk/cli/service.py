"""``jobwerk install-service``: systemd units for ``jobwerk serve`` and ``jobwerk worker`` with the
service user, the data folder, a restart policy and the hardening systemd offers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from jobwerk.cli._output import console, errors

UNITS = {
    "jobwerk.service": ("jobwerk server (API, dashboard, scheduler, runs)", "serve"),
    "jobwerk-worker.service": ("jobwerk worker (runs and schedules, no HTTP)", "worker"),
}
UNIT = """\
# Written by `jobwerk install-service`; see "How to run it" in jobwerk's README.
[Unit]
Description={description}
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=exec
User={user}
Group={group}
Environment=JOBWERK_DATA_DIR={data_dir}
EnvironmentFile=-{env_file}
WorkingDirectory={data_dir}
ExecStart={executable} {command}
# A stop ends the runs still executing as failed/interrupted (retry them); a crash restarts.
Restart=on-failure
RestartSec=5
TimeoutStopSec=30
# One descriptor per WebSocket client and database connection.
LimitNOFILE=65536
{logging}
# It writes only its data folder, the backup folder and /tmp, where the processes on one SQLite
# file exchange live events (hence no PrivateTmp: runs started from the CLI show in the dashboard).
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={data_dir} /tmp{backup_dir}
ProtectHome={protect_home}
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RemoveIPC=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
UMask=0077
# Not set: MemoryDenyWriteExecute (Chromium and Playwright of the docs module compile
# JavaScript at run time).

[Install]
WantedBy=multi-user.target
"""


def install_service(
    user: Annotated[str, typer.Option(help="The user the services run as")] = "jobwerk",
    group: Annotated[
        str | None, typer.Option(help="Their group (default: the user's name)")
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(help="The data folder (JOBWERK_DATA_DIR); the only one it writes")
    ] = Path("/var/lib/jobwerk"),
    env_file: Annotated[
        Path, typer.Option(help="Settings as JOBWERK_… lines, read if it exists")
    ] = Path("/etc/jobwerk/jobwerk.env"),
    output: Annotated[Path, typer.Option(help="Where the unit files go")] = Path(
        "/etc/systemd/system"
    ),
    log_file: Annotated[
        Path | None,
        typer.Option(help="Append the log to this file instead of the journal (rotate it)"),
    ] = None,
    backup_dir: Annotated[
        Path | None,
        typer.Option(help="A folder the scheduled backup job writes to (it may write there)"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing unit files")] = False,
) -> None:
    """Write systemd units for `jobwerk serve` and `jobwerk worker` (enable them with
    systemctl)."""
    paths = {name: output / name for name in UNITS}
    existing = [str(path) for path in paths.values() if path.exists()]
    if existing and not force:
        errors.print(
            f"[bold red]Error:[/] {', '.join(existing)} exist(s); --force replaces them",
            highlight=False,
        )
        raise typer.Exit(2)
    for name, path in paths.items():
        description, command = UNITS[name]
        text = render_unit(
            description,
            command,
            user,
            group or user,
            data_dir.absolute(),
            env_file,
            log_file,
            backup_dir.absolute() if backup_dir else None,
        )
        output.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
        console.print(f"wrote {path}", highlight=False)
    _next_steps(user, group or user, data_dir.absolute(), env_file, backup_dir)


def render_unit(
    description: str,
    command: str,
    user: str,
    group: str,
    data_dir: Path,
    env_file: Path,
    log_file: Path | None,
    backup_dir: Path | None = None,
) -> str:
    """One unit file; it may write the data folder, ``backup_dir`` and /tmp, nothing else."""
    executable = Path(sys.executable).absolute()
    script = executable.with_name("jobwerk")
    written = (data_dir, script, *([backup_dir] if backup_dir else []))
    at_home = any(str(path).startswith(("/home/", "/root/")) for path in written)
    logging = (
        f"StandardOutput=append:{log_file}\nStandardError=append:{log_file}\n"
        if log_file is not None
        else ""
    )
    return UNIT.format(
        description=description,
        user=user,
        group=group,
        data_dir=data_dir,
        env_file=env_file,
        executable=script if script.exists() else f"{executable} -m jobwerk",
        command=command,
        logging=logging,
        protect_home="read-only" if at_home else "yes",
        backup_dir=f" -{backup_dir}" if backup_dir else "",  # "-": may not exist yet
    )


def _next_steps(
    user: str, group: str, data_dir: Path, env_file: Path, backup_dir: Path | None
) -> None:
    console.print("next, as root:", highlight=False)
    folders = f"{data_dir} {backup_dir}" if backup_dir else str(data_dir)
    for line in (
        f"id {user} || useradd --system --home-dir {data_dir} --shell /usr/sbin/nologin {user}",
        f"install -d -o {user} -g {group} -m 0700 {folders}",
        f"install -d -g {group} -m 0750 {env_file.parent}  # settings: {env_file}, mode 0640",
        "systemctl daemon-reload",
        "systemctl enable --now jobwerk         # API, dashboard, scheduler and runs",
        "systemctl enable --now jobwerk-worker  # only where more processes execute runs",
    ):
        console.print(f"  {line}", highlight=False, soft_wrap=True)
