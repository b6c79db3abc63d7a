"""Dry runs of the TEMU workflows (``dry_run``, and replays): the steps read TEMU, JTL-Wawi and the
module's tables as usual, but work on a private copy of those tables and record each write to JTL
or TEMU instead of making it; the run's result and exports list what would be written.

Nothing changes anywhere: no JTL order or import row, no TEMU stock edit or shipment confirmation,
no row of jobwerk's TEMU tables (orders, held orders, shipments, inventory and push keys, raw
responses, watermarks). A real sync afterwards behaves exactly as if the dry run had not happened.
The copy is a SQLite file in the data folder, made by the first step, shared by the run's steps
(and by a retry of the run), removed when the last step has completed or after a day.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, cast
from weakref import WeakKeyDictionary

from pydantic import BaseModel, Field, SecretStr
from sqlalchemy import Select, Table, event, insert, select

from jobwerk.core.context import run_export_dir
from jobwerk.modules.temu.client import TemuClient
from jobwerk.modules.temu.jtl import JtlBackend
from jobwerk.modules.temu.models import TemuOrder, TemuOrderLine, TemuRawResponse
from jobwerk.modules.temu.settings import TemuSettings
from jobwerk.modules.temu.store import write_cursor
from jobwerk.modules.temu.workflows._dry_writes import (
    KINDS,
    PreviewJtl,
    PreviewTemuClient,
    WriteLog,
    metadata,
)
from jobwerk.modules.temu.workflows._replay import (
    Exchange,
    NotReplayable,
    ReplayTransport,
    archive_names,
    order_window_start,
    read_archive,
)
from jobwerk.sdk import AppError, StepContext, Workflow
from jobwerk.storage.db import Database
from jobwerk.storage.models import Base, Run

STATE_KEY = "preview_state"
FOLDER = "temu-previews"
KEEP_SECONDS = 86_400
COPY_CHUNK = 1000
LISTED = {"jtl_orders": 10, "jtl_cancellations": 50, "stock_edits": 50, "tracking_calls": 50}
"""How many of each kind of write the run's result lists; its export lists all of them."""
TITLES = {
    "jtl_orders": "Preview: orders JTL-Wawi would get",
    "jtl_cancellations": "Preview: orders that would be cancelled in JTL-Wawi",
    "stock_edits": "Preview: stock edits TEMU would get (old → new)",
    "tracking_calls": "Preview: shipment confirmations TEMU would get",
}
NOTHING_WRITTEN = (
    "nothing: no JTL-Wawi order or import row, no TEMU stock edit or shipment confirmation, "
    "no change to jobwerk's TEMU tables"
)
_HIDDEN: dict[str, Any] = {"x-hidden": True}  # set by the Preview button and replays, not a form

DryRun = Annotated[
    bool,
    Field(
        description="Preview: read everything, write nothing, and list what the sync would "
        "write to JTL-Wawi and TEMU",
        json_schema_extra=_HIDDEN,
    ),
]
ReplayOf = Annotated[
    str | None,
    Field(
        pattern=r"^[0-9a-f]{32}$",
        description="Replay the TEMU answers this finished run archived (always a dry run)",
        json_schema_extra=_HIDDEN,
    ),
]
ReplayJtl = Annotated[
    str | None,
    Field(
        description="A replay's own JTL-Wawi database, sealed (`jobwerk temu replay --jtl-url`)",
        json_schema_extra={**_HIDDEN, "writeOnly": True},
    ),
]


class PreviewGone(AppError):
    """A retry of a dry run whose private copy was removed (kept a day)."""

    status = 409


def is_dry_run(params: BaseModel) -> bool:
    """True for a dry run (a preview or a replay)."""
    return bool(getattr(params, "dry_run", False) or getattr(params, "replay_of", None))


@dataclass
class Preview:
    """A dry run's step: its copy of the module's tables with the writes held back, the
    archived TEMU answers of a replay, and a replay's own JTL database."""

    key: str
    log: WriteLog
    replay: ReplayTransport | None = None
    jtl_url: str | None = None
    completed: bool = False

    @property
    def db(self) -> Database:
        return self.log.db

    @property
    def own_jtl(self) -> bool:
        """The step opens (and closes) a JTL backend of its own instead of the shop's."""
        return self.jtl_url is not None

    def settings(self, settings: TemuSettings) -> TemuSettings:
        if self.jtl_url is None:
            return settings
        return settings.model_copy(update={"jtl_backend": "db", "jtl_url": SecretStr(self.jtl_url)})

    def jtl(self, backend: JtlBackend) -> JtlBackend:
        return PreviewJtl(backend, self.log)

    def client(self, **options: Any) -> TemuClient:
        return PreviewTemuClient(log=self.log, transport=self.replay, **options)


_open: WeakKeyDictionary[StepContext[Any], Preview] = WeakKeyDictionary()


def preview_of(ctx: StepContext[Any]) -> Preview | None:
    """The dry run the step is part of, if it is one."""
    return _open.get(ctx)


StepFunc = Callable[[StepContext[Any]], Awaitable[Mapping[str, Any] | None]]


def previewable(workflow: Workflow[Any]) -> None:
    """Let each step of ``workflow`` run as a dry run when its parameters ask for one; a
    workflow's parameters take ``dry_run`` (``DryRun``), ``replay_of`` and ``replay_jtl``."""
    last = len(workflow.steps) - 1
    workflow.steps[:] = [
        replace(step, func=_as_preview(step.func, final=index == last))
        for index, step in enumerate(workflow.steps)
    ]


def _as_preview(func: StepFunc, *, final: bool) -> StepFunc:
    @wraps(func)
    async def step(ctx: StepContext[Any]) -> Mapping[str, Any] | None:
        if not is_dry_run(ctx.params) or ctx.instance is None:
            return await func(ctx)
        async with open_preview(ctx) as preview:
            _open[ctx] = preview
            try:
                output = dict(await func(ctx) or {})
            except BaseException:
                with suppress(Exception):  # what the step held back before it failed is listed
                    await report(ctx, preview)
                raise
            finally:
                _open.pop(ctx, None)
            await report(ctx, preview)
            preview.completed = final
        return {**output, STATE_KEY: preview.key}

    return step


def _state_key(ctx: StepContext[Any]) -> str:
    """The run whose first step made the copy (this one, or the run a retry continues)."""
    for output in ctx.outputs.values():
        key = (output or {}).get(STATE_KEY)
        if isinstance(key, str) and re.fullmatch(r"[0-9a-f]{32}", key):
            return key
    return ctx.run_id


@asynccontextmanager
async def open_preview(ctx: StepContext[Any]) -> AsyncIterator[Preview]:
    """The dry run's state for one step: its copy (made by the first step), and for a replay
    the archived answers and the sealed JTL database."""
    assert ctx.instance is not None
    owner, key = ctx.instance.id, _state_key(ctx)
    path = ctx.data_dir / FOLDER / f"{key}.sqlite"
    replay_of: str | None = getattr(ctx.params, "replay_of", None)
    exchanges = await _archive(ctx, replay_of) if replay_of else None
    if not path.exists():
        if key != ctx.run_id:
            raise PreviewGone(
                f"the working copy of dry run {key} is gone (kept a day): start a new one"
            )
        await _create(ctx.db, path, owner, exchanges)
    sealed: str | None = getattr(ctx.params, "replay_jtl", None)
    preview = Preview(
        key,
        WriteLog(_scratch(path), owner),
        ReplayTransport(replay_of, exchanges) if replay_of and exchanges is not None else None,
        ctx.box.open(sealed).get("jtl_url") if sealed else None,
    )
    try:
        yield preview
    finally:
        await preview.db.dispose()
        if preview.completed:
            _remove(path)


async def _archive(ctx: StepContext[Any], run_id: str) -> list[Exchange]:
    async with ctx.db.read() as session:
        source = await session.get(Run, run_id)
    if source is None:
        raise NotReplayable(f"run {run_id} no longer exists: nothing to replay")
    folder = run_export_dir(ctx.data_dir, run_id)
    exchanges = await ctx.to_thread(read_archive, folder, archive_names(source.result))
    if not exchanges:
        raise NotReplayable(f"run {run_id} archived no TEMU exchanges: nothing to replay")
    return exchanges


async def _create(source: Database, path: Path, owner: str, replay: list[Exchange] | None) -> None:
    """Copy the instance's rows of the module's tables (a replay: start from nothing stored,
    with the run's order watermark); built aside, then moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path.parent)
    building = path.with_suffix(".building")
    _remove(building)
    target = _scratch(building)
    try:
        async with target.engine.begin() as conn:
            tables = _module_tables()
            await conn.run_sync(lambda sync: Base.metadata.create_all(sync, tables=tables))
            await conn.run_sync(metadata.create_all)
        if replay is None:
            await _copy(source, target, owner)
        else:
            await _seed(target, owner, replay)
    finally:
        await target.dispose()
    os.replace(building, path)


def _scratch(path: Path) -> Database:
    """The copy's database: it holds one shop's rows without jobwerk's other tables, so there
    are no foreign keys to enforce."""
    db = Database(f"sqlite:///{path}")
    for engine in {db.engine, db.read_engine}:
        event.listen(engine.sync_engine, "connect", _no_foreign_keys)  # after jobwerk's own
    return db


def _no_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _module_tables() -> list[Table]:
    """Every table of the module (its models are imported above)."""
    return [table for table in Base.metadata.sorted_tables if table.name.startswith("temu_")]


def _copied(owner: str) -> list[tuple[Table, Select[Any]]]:
    """What the copy takes: the shop's rows of each table (order lines by their orders), but no
    raw responses, which a step only reads back from its own run."""
    orders, lines = cast(Table, TemuOrder.__table__), cast(Table, TemuOrderLine.__table__)
    queries: list[tuple[Table, Select[Any]]] = []
    for table in _module_tables():
        if table is lines:
            of_shop = select(lines).join(orders, lines.c.order_id == orders.c.id)
            queries.append((lines, of_shop.where(orders.c.instance_id == owner)))
        elif "instance_id" in table.c and table is not TemuRawResponse.__table__:
            queries.append((table, select(table).where(table.c.instance_id == owner)))
    return queries


async def _copy(source: Database, target: Database, owner: str) -> None:
    """The shop's rows as of one moment: a sync writing meanwhile is seen whole or not."""
    queries = _copied(owner)
    level = "SERIALIZABLE" if source.is_sqlite else "REPEATABLE READ"
    async with source.engine.connect() as connection:
        snapshot = await connection.execution_options(isolation_level=level)
        async with snapshot.begin():
            for table, query in queries:
                result = await snapshot.stream(query.execution_options(yield_per=COPY_CHUNK))
                async for part in result.mappings().partitions():
                    async with target.write() as writer:
                        await writer.execute(insert(table), [dict(row) for row in part])


async def _seed(target: Database, owner: str, replay: list[Exchange]) -> None:
    """The order watermark the replayed run had, so the replay lists orders as it did."""
    # Imported here: the order workflow builds on this module.
    from jobwerk.modules.temu.workflows._orders import CURSOR, SKEW

    start = order_window_start(replay)
    if start is not None:
        async with target.write() as session:
            await write_cursor(session, owner, CURSOR, {"listed_from": start + SKEW})


def _remove(path: Path) -> None:
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        (path.parent / name).unlink(missing_ok=True)


def _sweep(folder: Path) -> None:
    """Remove the copies of dry runs that stopped more than a day ago."""
    cutoff = time.time() - KEEP_SECONDS
    for stale in folder.glob("*.sqlite"):
        with suppress(OSError):
            if stale.stat().st_mtime < cutoff:
                _remove(stale)


async def report(ctx: StepContext[Any], preview: Preview) -> None:
    """What the dry run would have written so far: counts and the first ones in the result
    (``dry_run``, ``preview_<kind>``), every one in a JSON export per kind."""
    totals: dict[str, int] = {}
    for kind in KINDS:
        records = await preview.log.records(kind)
        totals[kind] = len(records)
        if not records:
            continue
        path = ctx.export_dir / f"preview-{kind.replace('_', '-')}.json"
        text = json.dumps(records, ensure_ascii=False, indent=1, default=str)
        await ctx.to_thread(path.write_text, text, "utf-8")
        _list_export(ctx, path, TITLES[kind])
        shown = records[: LISTED[kind]]
        ctx.result[f"preview_{kind}"] = [
            {k: v for k, v in r.items() if k != "request"} for r in shown
        ]
    for entry in ctx.result.get("exports", []):
        if entry["name"] == "jtl-orders.xml":  # the order step's own export: nothing was queued
            entry["title"] = "Preview: the import XML of the orders JTL-Wawi would get"
    summary: dict[str, Any] = {"written": NOTHING_WRITTEN, **totals}
    replay_of = getattr(ctx.params, "replay_of", None)
    if replay_of:
        jtl = "the database given to the replay" if preview.own_jtl else "the instance's"
        summary = {"replay_of": replay_of, "jtl_read": jtl, **summary}
    ctx.result["dry_run"] = summary


def _list_export(ctx: StepContext[Any], path: Path, title: str) -> None:
    for entry in ctx.result.get("exports", []):
        if entry["name"] == path.name:
            entry["size"] = path.stat().st_size
            return
    ctx.add_export(path, content_type="application/json", title=title)
