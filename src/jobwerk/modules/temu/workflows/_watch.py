"""``temu.watch_stock``: JTL stock changes → TEMU within seconds, for as long as the run lasts.

One long-lived run per shop (its job restarts it every minute when none is active). Every
``stock_watch_seconds`` it asks JTL what changed since its last look (the ``db`` backend through
``bRowversion``; ``rest`` reads everything and compares), recomputes the sellable stock of just
those SKUs and of those TEMU orders moved, and hands the ones that differ from TEMU's to its
sender, which sends them without pause, one stock edit per goods (``_watch_send``). Looks and
sending hold the shop's ``stock`` lease, so the watch never overlaps an inventory sync;
disabling the job (or cancelling the run) stops it between two looks. A dry run (the Preview)
looks once, comparing every SKU, lists the stock edits it would send, and ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, Field
from sqlalchemy import Table, and_, bindparam, or_, select, update

from jobwerk.modules.temu.client import (
    MAX_PAGE_SIZE,
    ExchangeRecord,
    SkuStatus,
    TemuClient,
    TemuError,
)
from jobwerk.modules.temu.jtl import JtlBackend, JtlUnavailable
from jobwerk.modules.temu.models import TemuInventory
from jobwerk.modules.temu.settings import TemuSettings
from jobwerk.modules.temu.store import chunks
from jobwerk.modules.temu.workflows import _shop as shop
from jobwerk.modules.temu.workflows._inventory import (
    _held_by_temu,
    _key,
    needs_push,
    sellable_stock,
)
from jobwerk.modules.temu.workflows._preview import DryRun, is_dry_run
from jobwerk.modules.temu.workflows._push import Push
from jobwerk.modules.temu.workflows._watch_send import Sender, SharedLease
from jobwerk.sdk import StepContext, Workflow
from jobwerk.storage.models import Job, Run, utcnow

MIN_PAUSE = 1.0
"""Seconds between two cycles at least: a waiting inventory sync gets the lease in between."""


class WatchStockParams(BaseModel):
    """Parameters of ``temu.watch_stock``."""

    minutes: int = Field(
        60, ge=1, le=1440, description="How long this run watches; its job starts the next one"
    )
    verbose: bool = Field(False, description="Log every stock change sent")
    dry_run: DryRun = False


watch_stock = Workflow(
    "temu.watch_stock",
    WatchStockParams,
    title="TEMU stock watch",
    description=(
        "Watches JTL-Wawi's stock and sends each change to TEMU within seconds (only changed "
        "SKUs, one call per goods); one run lasts an hour, its job starts the next."
    ),
    instance_lock=False,  # it coordinates with the inventory sync through the stock lease
)


@dataclass(frozen=True, slots=True)
class Seen:
    """One look at JTL: the changed SKU keys (None: compare every SKU), the available stock read
    by SKU key, and the backend's mark to look from next time."""

    keys: set[str] | None
    seen: dict[str, int]
    mark: int | None


class Watch:
    """One run of the watch: the shop, its TEMU client and what it counted."""

    def __init__(self, ctx: StepContext[WatchStockParams], client: TemuClient) -> None:
        self.ctx = ctx
        self.settings: TemuSettings = shop.settings_of(ctx)
        self.owner = shop.instance_id(ctx)
        self.db = shop.database(ctx)
        # A dry run starts from nothing seen (it compares every SKU) and keeps what it saw.
        self.state: shop.StockWatch = (
            shop.StockWatch("preview")
            if is_dry_run(ctx.params)
            else ctx.resources.stock_watch(self.owner, self.settings)
        )
        self.mapped: dict[str, list[int]] | None = None
        """The inventory rows by JTL article (several TEMU SKUs may list one article)."""
        self.checked_at = utcnow()
        self.lease = SharedLease(ctx, self.owner)
        self.sender = Sender(ctx, client, self.lease)

    async def cycle(self) -> bool:
        """Look for changes once and hand what TEMU needs to the sender; False when an
        inventory sync holds (or is about to take) the stock lease: the watch waits for it."""
        ctx, db = self.ctx, self.db
        async with self.lease.held() as ours:
            if not ours:
                ctx.count("cycles_waiting_for_inventory_sync")
                return False
            await self._reload_if_synced()
            async with shop.jtl(ctx, self.settings) as jtl:
                changes = await self._changes(jtl)
                rows = await self._rows(changes.keys)
                held = await _held_by_temu(db, self.owner, jtl, self.settings.jtl_backend == "db")
            at_temu = await self._forgotten_at_temu(rows)
            pushes = await self._compare(rows, held, changes.seen, at_temu)
            # What was read counts as seen only once it is stored: a cycle that fails before
            # reads the same changes again.
            self.state.available.update(changes.seen)
            self.state.mark = changes.mark
        for goods_id, waiting in pushes.items():
            for push in waiting:
                self.sender.offer(goods_id, push)
        ctx.count("cycles")
        return True

    async def _reload_if_synced(self) -> None:
        """(Re)load the SKU map at the start and after an inventory sync (its full mode adds and
        removes products); the next JTL read is then a complete one."""
        async with self.ctx.db.read() as session:
            synced = await session.scalar(
                select(Run.id)
                .where(
                    Run.instance_id == self.owner,
                    Run.workflow == "temu.sync_inventory",
                    Run.finished_at >= self.checked_at,
                )
                .limit(1)
            )
        if self.mapped is not None and synced is None:
            return
        self.checked_at = utcnow()
        async with self.db.read() as session:
            found = await session.execute(
                select(TemuInventory.id, TemuInventory.sku_sn).where(
                    TemuInventory.instance_id == self.owner
                )
            )
            mapped: dict[str, list[int]] = defaultdict(list)
            for row_id, sku_sn in found:
                mapped[_key(sku_sn)].append(row_id)
            self.mapped = mapped
        if not self.mapped:
            self.ctx.warning("no TEMU products are stored yet: run a full inventory sync")
        self.state.mark = None

    async def _changes(self, jtl: JtlBackend) -> Seen:
        """What JTL says changed since the last look."""
        first = self.state.mark is None and not self.state.available
        changes = await jtl.stock_changes(self.state.mark)
        known = self.state.available
        seen = {_key(level.sku): level.available for level in changes.levels}
        changed = {key for key, available in seen.items() if known.get(key) != available}
        mapped = self.mapped or {}
        self.ctx.count("skus_changed_in_jtl", sum(1 for key in changed if key in mapped))
        # Nothing to compare with yet: every SKU against its stored stock.
        return Seen(None if changes.complete and first else changed, seen, changes.mark)

    async def _rows(self, changed: set[str] | None) -> list[Any]:
        """The inventory rows to look at: the changed SKUs', and those whose TEMU stock the
        order sync forgot (an order took or gave back stock), with an attempt of unknown
        outcome, or a delta an inventory sync computed but did not send."""
        mapped = self.mapped or {}
        columns = (
            TemuInventory.id, TemuInventory.goods_id, TemuInventory.sku_id, TemuInventory.sku_sn,
            TemuInventory.jtl_stock, TemuInventory.temu_stock, TemuInventory.needs_sync,
            TemuInventory.push_key, TemuInventory.push_target, TemuInventory.temu_version,
        )  # fmt: skip
        mine = TemuInventory.instance_id == self.owner
        rows: dict[int, Any] = {}
        async with self.db.read() as session:
            if changed is None:
                found = await session.execute(select(*columns).where(mine))
                rows = {row.id: row for row in found}
                return list(rows.values())
            ids = sorted(row_id for key in changed for row_id in mapped.get(key, ()))
            for part in chunks(ids):
                found = await session.execute(select(*columns).where(TemuInventory.id.in_(part)))
                rows.update((row.id, row) for row in found)
            # A SKU TEMU refused waits for a change of its own: sent again every look, a few
            # refused SKUs would spend the rate limit the changes need.
            attention = or_(
                TemuInventory.push_key.is_not(None),
                and_(
                    or_(TemuInventory.temu_stock.is_(None), TemuInventory.needs_sync.is_(True)),
                    TemuInventory.error.is_(None),
                ),
            )
            found = await session.execute(select(*columns).where(mine, attention))
            rows.update((row.id, row) for row in found)
        return list(rows.values())

    async def _forgotten_at_temu(self, rows: list[Any]) -> dict[int, int]:
        """TEMU's stock of the SKUs whose stock an order sync forgot, by skuId. TEMU moved it by
        itself, so it mostly is what the watch would send: one read of 100 SKUs spares an edit
        each. A failed read leaves them to be sent."""
        forgotten = [row.sku_id for row in rows if row.temu_stock is None and row.push_key is None]
        found: dict[int, int] = {}
        for part in chunks(forgotten, MAX_PAGE_SIZE):
            try:
                page = await self.sender.client.list_skus(SkuStatus.ALL, extra={"skuIdList": part})
            except TemuError as exc:
                self.ctx.log(f"TEMU: {exc}; the SKUs are sent instead", "warning")
                return found
            found.update((sku.sku_id, sku.stock) for sku in page.sku_list if sku.stock is not None)
        self.ctx.count("skus_read_at_temu", len(forgotten))
        return found

    async def _compare(
        self, rows: list[Any], held: dict[int, int], seen: dict[str, int], at_temu: dict[int, int]
    ) -> dict[int, list[Push]]:
        """Store the sellable stock of ``rows`` (and TEMU's, where it was read); returns the
        pushes TEMU needs, by goods."""
        changes: list[dict[str, Any]] = []
        read: list[dict[str, Any]] = []
        by_goods: dict[int, list[Push]] = defaultdict(list)
        for row in rows:
            key = _key(row.sku_sn)
            available = seen.get(key, self.state.available.get(key))
            if available is None:
                continue  # no such article in JTL: its TEMU stock is left alone
            sellable = sellable_stock(available, held.get(row.sku_id, 0))
            temu = row.temu_stock
            if temu is None and row.sku_id in at_temu:
                temu = at_temu[row.sku_id]
                read.append({"row_id": row.id, "version": row.temu_version, "stock": temu})
            needs = needs_push(sellable, temu, row.push_key)
            if row.jtl_stock != sellable or row.needs_sync != needs:
                changes.append({"id": row.id, "jtl_stock": sellable, "needs_sync": needs})
            if needs:
                by_goods[row.goods_id].append(
                    Push(row.id, row.sku_id, sellable, temu, row.push_key, row.push_target,
                         row.temu_version)
                )  # fmt: skip
        changes.sort(key=lambda change: change["id"])  # rows locked in id order, like every writer
        read.sort(key=lambda row: row["row_id"])
        for part in chunks(changes):
            async with self.db.write() as session:
                await session.execute(update(TemuInventory), part)
        if read:
            async with self.db.write() as session:
                connection = await session.connection()
                await connection.execute(_READ_AT_TEMU, read)
        return by_goods


_INVENTORY = cast(Table, TemuInventory.__table__)
_READ_AT_TEMU = (
    update(_INVENTORY)
    .where(
        _INVENTORY.c.id == bindparam("row_id"),
        _INVENTORY.c.temu_version == bindparam("version"),  # not forgotten again meanwhile
    )
    .values(temu_stock=bindparam("stock"))
)


@watch_stock.step("watch", title="JTL stock changes → TEMU", timeout=25 * 3600)
async def watch(ctx: StepContext[WatchStockParams]) -> dict[str, Any]:
    settings, dry = shop.settings_of(ctx), is_dry_run(ctx.params)
    deadline = time.monotonic() + ctx.params.minutes * 60
    archive = _FailedRequests(ctx)
    started = time.monotonic()
    ended = "time is up; the job starts the next watch"
    refused: dict[int, str] = {}
    try:
        async with shop.step_client(ctx, settings, archive) as client:
            runner = Watch(ctx, client)
            refused = runner.sender.refused
            sending = asyncio.create_task(runner.sender.run(), name=f"watch-send-{ctx.run_id}")
            try:
                if dry:
                    await runner.cycle()
                    await _drained(runner.sender, sending)
                    ended = "a preview looks once"
                while not dry and time.monotonic() < deadline:
                    if not await _job_enabled(ctx):
                        ended = "its job was disabled"
                        break
                    began = time.monotonic()
                    await _guarded_cycle(runner)
                    if sending.done():
                        sending.result()  # a refusal another attempt will not fix ends it
                    _report(ctx, started, deadline)
                    pause = settings.stock_watch_seconds - (time.monotonic() - began)
                    left = max(deadline - time.monotonic(), 0)
                    await ctx.sleep(min(max(pause, MIN_PAUSE), left))
            finally:
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending
    finally:
        archive.close()
        if archive.path.exists():
            ctx.add_export(archive.path, content_type="application/x-ndjson",
                           title="TEMU requests that failed")  # fmt: skip
    messages = [f"TEMU refused the stock of SKU {sku}: {error}" for sku, error in refused.items()]
    shop.warn_summary(ctx, messages, "SKUs whose stock TEMU refused")
    ctx.info(f"the watch ended: {ended}")
    return {"ended": ended}


class _FailedRequests(shop.ExchangeArchive):
    """Counts the TEMU requests of the watch and archives only the failed ones (a watch makes
    tens of thousands an hour; archiving each would fill the disk)."""

    def __init__(self, ctx: StepContext[Any]) -> None:
        super().__init__(ctx.export_dir / "temu-watch.jsonl")
        self.ctx = ctx

    def __call__(self, record: ExchangeRecord) -> None:
        self.ctx.count("temu_requests")
        body = record.response_body
        if record.error or (isinstance(body, dict) and body.get("success") is False):
            super().__call__(record)


async def _guarded_cycle(runner: Watch) -> None:
    """One cycle; JTL unreachable is a warning in the log (the next cycle tries again), not the
    end of the watch."""
    try:
        await runner.cycle()
    except JtlUnavailable as exc:
        runner.ctx.log(f"{exc.message}; the next cycle tries again", "warning")


async def _drained(sender: Sender, sending: asyncio.Task[None]) -> None:
    """Wait until the sender has sent everything offered to it."""
    while not sender.idle():
        if sending.done():
            sending.result()
        await asyncio.sleep(0.05)


async def _job_enabled(ctx: StepContext[Any]) -> bool:
    """False once the run's job is disabled (a run without a job watches until its end)."""
    async with ctx.db.read() as session:
        enabled = await session.scalar(
            select(Job.enabled).join(Run, Run.job_id == Job.id).where(Run.id == ctx.run_id)
        )
    return enabled is not False


def _report(ctx: StepContext[Any], started: float, deadline: float) -> None:
    elapsed, total = time.monotonic() - started, deadline - started
    at = datetime.now().astimezone().strftime("%H:%M:%S")
    ctx.progress(int(elapsed), int(total), message=f"watching JTL stock (last look {at})")
