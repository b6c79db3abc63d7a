"""The stock watch's sender: sends what the watch's looks at JTL found without pausing for them,
one stock edit per goods under the shop's rate limit, and the stock lease both share.

TEMU's rate limit is what bounds the watch: 1 % of 100,000 SKUs changing per minute is about 16
stock edits a second of the 20 TEMU allows. So the sending never waits for the next look, and a
SKU that changes again before it was sent is sent once, with its latest stock.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select

from jobwerk.modules.temu.client import TemuClient, TemuError
from jobwerk.modules.temu.workflows import _shop as shop
from jobwerk.modules.temu.workflows._lease import STOCK, release_lease, try_lease
from jobwerk.modules.temu.workflows._preview import is_dry_run
from jobwerk.modules.temu.workflows._push import (
    EDIT_BATCH,
    Push,
    _claim_keys,
    _save_results,
    _send_batch,
)
from jobwerk.sdk import RunStatus, StepContext
from jobwerk.storage.models import Run

RETRY_SECONDS = 2.0
LEASED_STEPS = ("json_to_db", "jtl_to_inventory", "inventory_to_api")
"""The inventory sync's steps that hold the stock lease (see ``_inventory``)."""


class SharedLease:
    """The shop's stock lease, held by the watch's run while its look or its sender works, and
    let go as soon as neither does. An inventory sync at a step that needs the lease goes first:
    no new work of the watch starts then. A dry run writes nothing and takes no lease."""

    def __init__(self, ctx: StepContext[Any], owner: str) -> None:
        self.ctx = ctx
        self.owner = owner
        self._users = 0
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[bool]:
        """Yields whether the lease is held (False: an inventory sync has it or wants it)."""
        if is_dry_run(self.ctx.params):
            yield True
            return
        db, run_id = self.ctx.db, self.ctx.run_id
        async with self._lock:
            taken = not await self._inventory_sync_due() and (
                self._users > 0 or await try_lease(db, self.owner, STOCK, run_id)
            )
            if taken:
                self._users += 1
        if not taken:
            yield False
            return
        try:
            yield True
        finally:
            async with self._lock:
                self._users -= 1
                if self._users == 0:
                    await release_lease(db, self.owner, STOCK, run_id)

    async def _inventory_sync_due(self) -> bool:
        async with self.ctx.db.read() as session:
            found = await session.scalar(
                select(Run.id)
                .where(
                    Run.instance_id == self.owner,
                    Run.workflow == "temu.sync_inventory",
                    Run.status == RunStatus.RUNNING,
                    Run.current_step.in_(LEASED_STEPS),
                )
                .limit(1)
            )
        return found is not None


class Sender:
    """Sends the pushes offered to it, oldest first, in batches of ``EDIT_BATCH`` goods."""

    def __init__(self, ctx: StepContext[Any], client: TemuClient, lease: SharedLease) -> None:
        self.ctx = ctx
        self.client = client
        self.lease = lease
        self.pending: dict[int, tuple[int, Push]] = {}
        """By inventory row: its goods and the push (a later offer replaces an earlier one)."""
        self.sending: dict[int, int] = {}
        """By inventory row: the stock being sent now."""
        self.refused: dict[int, str] = {}
        self._wake = asyncio.Event()

    def offer(self, goods_id: int, push: Push) -> None:
        """Send ``push`` soon, unless the same stock is being sent or waiting already."""
        waiting = self.pending.get(push.row_id)
        if self.sending.get(push.row_id) == push.target and waiting is None:
            return
        if waiting is not None and waiting[1].target == push.target:
            return
        self.pending[push.row_id] = (goods_id, push)
        self._wake.set()

    def idle(self) -> bool:
        """Nothing waits and nothing is being sent."""
        return not self.pending and not self.sending

    async def run(self) -> None:
        """Send until cancelled; a TEMU refusal another attempt will not fix ends the watch."""
        while True:
            if not self.pending:
                self._wake.clear()
                await self._wake.wait()
            batch = self._take()
            try:
                async with self.lease.held() as ours:
                    if not ours:
                        self._give_back(batch)
                        await asyncio.sleep(RETRY_SECONDS)
                        continue
                    await self._send(batch)
            except TemuError as exc:
                if not exc.retryable:
                    raise shop.TemuStepError(f"TEMU refused the call: {exc}") from exc
                self.ctx.log(f"TEMU: {exc}; sent again shortly", "warning")
                self._give_back(batch)
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                for pushes in batch.values():
                    for push in pushes:
                        self.sending.pop(push.row_id, None)

    def _take(self) -> dict[int, list[Push]]:
        """The oldest waiting goods (with every waiting SKU of each), at most ``EDIT_BATCH``."""
        by_goods: dict[int, list[Push]] = defaultdict(list)
        for row_id, (goods_id, push) in list(self.pending.items()):
            if goods_id not in by_goods and len(by_goods) >= EDIT_BATCH:
                continue
            by_goods[goods_id].append(push)
            del self.pending[row_id]
            self.sending[row_id] = push.target
        return by_goods

    def _give_back(self, batch: dict[int, list[Push]]) -> None:
        for goods_id, pushes in batch.items():
            for push in pushes:
                self.pending.setdefault(push.row_id, (goods_id, push))

    async def _send(self, batch: dict[int, list[Push]]) -> None:
        ctx, db = self.ctx, shop.database(self.ctx)
        batch, keys = await _claim_keys(db, batch)
        results = await _send_batch(self.client, batch, keys)
        counts = {"stock_edits": 0, "skus_updated": 0, "skus_failed": 0}
        await _save_results(db, results, counts, [], ctx.params.verbose, ctx)
        for name, value in counts.items():
            ctx.count(name, value)
        for _, errors in results:
            for sku_id, error in errors.items():
                if sku_id not in self.refused:
                    self.refused[sku_id] = error
                    ctx.log(f"TEMU refused the stock of SKU {sku_id}: {error}", "warning")
