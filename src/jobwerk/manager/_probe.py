"""Run in a child process: import a staged module and (optionally) run its migrations.

A broken module (failing import, wrong type, failing migration) then cannot poison the server.
Prints one JSON line: ``{"ok": true, "name", "version", "contract_version", "migrated"}`` or
``{"ok": false, "stage": "import"|"migrate", "error"}``. A module's migrations are its optional
``migrate(connection, previous_version)`` method, run in one transaction on a synchronous
SQLAlchemy connection.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import EntryPoint
from typing import Any

from sqlalchemy import create_engine, event

from jobwerk.modules.base import CONTRACT_VERSION, Module
from jobwerk.storage.db import sync_url


def _migrate(module: Module, url: str, previous: str | None) -> bool:
    if type(module).migrate is Module.migrate:
        return False
    engine = create_engine(sync_url(url))
    if engine.dialect.name == "sqlite":
        # pysqlite opens no transaction before DDL; begin explicitly so a failure undoes all.
        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with engine.begin() as connection:
            module.migrate(connection, previous)
    finally:
        engine.dispose()
    return True


def probe(path: str, name: str, value: str, url: str | None, previous: str | None) -> Any:
    sys.path.append(path)
    loaded: Any = EntryPoint(name=name, value=value, group="jobwerk.modules").load()
    module = loaded() if isinstance(loaded, type) else loaded
    if not isinstance(module, Module):
        raise TypeError(f"{value} is not a jobwerk Module")
    if module.name != name:
        raise ValueError(f"the module calls itself '{module.name}', the entry point '{name}'")
    if module.contract_version != CONTRACT_VERSION:
        raise RuntimeError(
            f"written for module contract {module.contract_version}; "
            f"this jobwerk offers {CONTRACT_VERSION}"
        )
    for workflow in module.workflows():
        if workflow.module != name:
            raise ValueError(f"workflow {workflow.name} is outside '{name}.'")
    try:
        migrated = _migrate(module, url, previous) if url else False
    except Exception as exc:
        return {"ok": False, "stage": "migrate", "error": f"{type(exc).__name__}: {exc}"}
    return {
        "ok": True,
        "name": module.name,
        "version": module.version,
        "contract_version": module.contract_version,
        "migrated": migrated,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--entry", required=True)
    parser.add_argument("--previous")
    args = parser.parse_args()
    # The database URL may hold a password: it comes on stdin, never in the argument list.
    url = sys.stdin.readline().strip() or None
    try:
        result = probe(args.path, args.name, args.entry, url, args.previous)
    except BaseException as exc:
        result = {"ok": False, "stage": "import", "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
