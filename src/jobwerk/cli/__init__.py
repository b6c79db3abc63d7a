"""The ``jobwerk`` command line: servers, database, jobs, runs and instances."""

from __future__ import annotations

import typer

from jobwerk.cli import backup, db, instances, jobs, keys, modules, repos, runs, service, users
from jobwerk.cli._serve import demo, serve
from jobwerk.cli._worker import worker

app = typer.Typer(
    name="jobwerk",
    help="Self-hosted job server for shop integrations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command(help="Start the server (API, dashboard, scheduler, executor).")(serve)
app.command(help="Start the server with demo data, ready to click through.")(demo)
app.command(help="Execute runs and fire schedules without serving HTTP (more machines).")(worker)
app.command()(backup.backup)
app.command()(backup.restore)
app.command(name="install-service")(service.install_service)
app.add_typer(db.app, name="db", help="Database migrations.")
app.add_typer(jobs.app, name="jobs", help="Configured, schedulable jobs.")
app.add_typer(runs.app, name="runs", help="Runs of workflows.")
app.add_typer(instances.app, name="instances", help="Module instances.")
app.add_typer(users.app, name="users", help="Dashboard users and their roles.")
app.add_typer(keys.app, name="keys", help="API keys for machines.")
app.add_typer(modules.app, name="modules", help="Install, update and remove modules.")
app.add_typer(repos.app, name="repos", help="Repositories modules are installed from.")


def _add_module_commands() -> None:
    """Mount the commands of built-in modules and of those installed in the data folder."""
    from pydantic import ValidationError

    from jobwerk.config import load_settings
    from jobwerk.manager import load_installed_from
    from jobwerk.modules.registry import ModuleRegistry

    registry = ModuleRegistry()
    registry.discover()
    try:
        data_dir = load_settings().data_dir
    except ValidationError:
        data_dir = None  # every command that needs the settings says what is wrong with them
    if data_dir is not None:
        load_installed_from(data_dir, registry)
    for module in registry.loaded():
        commands = module.cli()
        if commands is None:
            continue
        for command in commands if isinstance(commands, list | tuple) else [commands]:
            if isinstance(command, typer.Typer):
                app.add_typer(command)
            else:
                app.command()(command)


def _plain_help(typer_app: typer.Typer) -> None:
    """Click's help layout: flags show as ``--json``, not as ``--json <bool>`` (Typer's rich
    layout prints a type for every option)."""
    typer_app.rich_markup_mode = None
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _plain_help(group.typer_instance)


def main() -> None:
    _add_module_commands()
    _plain_help(app)
    app()
