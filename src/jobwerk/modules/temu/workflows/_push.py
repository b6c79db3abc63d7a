"""``inventory_to_api``: send the stock deltas to TEMU, one stock edit per goods, each edit under
a ``requestUniqueKey`` of its own that only a retry of that very edit reuses."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, select, update

from jobwerk.modules.temu.client import BusinessError, TemuClient
from jobwerk.modules.temu.models import TemuInventory
from jobwerk.modules.temu.store import chunks
from jobwerk.modules.temu.workflows import _shop as shop
from jobwerk.sdk import StepContext
from jobwerk.storage.db import Database
from jobwerk.storage.models import utcnow

EDIT_CONCURRENCY = 4
EDIT_BATCH = 40


@dataclass(frozen=True, slots=True)
class Push:
    """One SKU's stock to send: its inventory row, the target, a pending attempt's key, and the
    row's ``temu_version`` the target was computed at."""

    row_id: int
    sku_id: int
    target: int
    temu: int | None
    key: str | None
    key_target: int | None
    version: int


async def push_stock(ctx: StepContext[Any]) -> dict[str, Any]:
    """Send each changed SKU's stock to TEMU, one stock edit per goods."""
    settings, owner = shop.settings_of(ctx), shop.instance_id(ctx)
    db = shop.database(ctx)
    async with db.session() as session:
        rows = await session.execute(
            select(
                TemuInventory.id,
                TemuInventory.goods_id,
                TemuInventory.sku_id,
                TemuInventory.jtl_stock,
                TemuInventory.temu_stock,
                TemuInventory.push_key,
                TemuInventory.push_target,
                TemuInventory.temu_version,
            ).where(TemuInventory.instance_id == owner, TemuInventory.needs_sync.is_(True))
        )
        by_goods: dict[int, list[Push]] = defaultdict(list)
        for row_id, goods_id, sku_id, jtl, temu, key, key_target, version in rows:
            if jtl is not None:
                push = Push(row_id, sku_id, jtl, temu, key, key_target, version)
                by_goods[goods_id].append(push)
    counts = {"stock_edits": 0, "skus_updated": 0, "skus_failed": 0}
    warnings: list[str] = []
    goods = sorted(by_goods)
    if goods:
        async with shop.temu_session(ctx, settings) as client:
            for done, part in enumerate(chunks(goods, EDIT_BATCH)):
                ctx.check_cancelled()
                batch, keys = await _claim_keys(db, {g: by_goods[g] for g in part})
                results = await _send_batch(client, batch, keys)
                await _save_results(db, results, counts, warnings, ctx.params.verbose, ctx)
                ctx.progress(min((done + 1) * EDIT_BATCH, len(goods)), len(goods))
    for name, value in counts.items():
        ctx.count(name, value)
    shop.warn_summary(ctx, warnings, "stock changes TEMU refused")
    ctx.result["inventory"] = counts
    return counts


def attempt_key(skus: Sequence[Push]) -> str:
    """The ``requestUniqueKey`` of one stock edit: the pending attempt's key when this edit
    retries it (same SKUs, same targets, outcome unknown), else a new one.

    A key is never derived from the change itself: S → S−3 → S → S−3 are four edits, and TEMU
    refuses a key it has seen, so a repeated change must not repeat its key.
    """
    keys = {sku.key for sku in skus}
    same = all(sku.key_target == sku.target for sku in skus)
    if len(keys) == 1 and None not in keys and same:
        return str(keys.pop())
    return "jw" + uuid.uuid4().hex[:30]


async def _claim_keys(
    db: Database, batch: dict[int, list[Push]]
) -> tuple[dict[int, list[Push]], dict[int, str]]:
    """Choose each goods' key and store it before anything is sent: if the answer is lost, the
    next attempt sends the same edit under the same key, and TEMU's duplicate answer means
    "applied".

    Returns:
        The batch without the SKUs whose TEMU stock an order sync forgot since their target was
        computed (the next look or sync computes them again), and the key of each goods left.
    """
    ids = [sku.row_id for skus in batch.values() for sku in skus]
    async with db.write() as session:
        found = await session.execute(
            select(TemuInventory.id, TemuInventory.temu_version)
            .where(TemuInventory.id.in_(ids))
            .order_by(TemuInventory.id)  # locked in id order, like every writer of the rows
            .with_for_update()
        )
        versions: dict[int, int] = dict(found.all())
        fresh = {
            goods_id: kept
            for goods_id, skus in batch.items()
            if (kept := [sku for sku in skus if versions.get(sku.row_id) == sku.version])
        }
        keys = {goods_id: attempt_key(skus) for goods_id, skus in fresh.items()}
        claims = [
            {"id": sku.row_id, "push_key": keys[goods_id], "push_target": sku.target}
            for goods_id, skus in fresh.items()
            for sku in skus
        ]
        if claims:
            await session.execute(update(TemuInventory), claims)
    return fresh, keys


async def _send_batch(
    client: TemuClient, batch: dict[int, list[Push]], keys: dict[int, str]
) -> list[tuple[list[Push], dict[int, str]]]:
    """Send one stock edit per goods; returns per goods the rows and each SKU's error."""
    limit = asyncio.Semaphore(EDIT_CONCURRENCY)

    async def one(goods_id: int, skus: list[Push]) -> tuple[list[Push], dict[int, str]]:
        targets = {sku.sku_id: sku.target for sku in skus}
        async with limit:
            try:
                result = await client.set_stock(
                    goods_id, targets, request_unique_key=keys[goods_id]
                )
            except BusinessError as exc:
                if "requestuniquekey" in exc.error_msg.casefold():
                    # Only this attempt ever sent this key: an earlier try of it was applied.
                    return skus, {}
                return skus, {sku: str(exc) for sku in targets}
        return skus, {f.sku_id: f"[{f.error_code}] {f.error_msg}" for f in result.failures}

    return await shop.run_all(one(g, skus) for g, skus in batch.items())


async def _save_results(
    db: Database,
    results: list[tuple[list[Push], dict[int, str]]],
    counts: dict[str, int],
    warnings: list[str],
    verbose: bool,
    ctx: StepContext[Any],
) -> None:
    synced: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for skus, errors in results:
        counts["stock_edits"] += 1
        for sku in skus:
            answered = {"row_id": sku.row_id, "sent": sku.target, "version": sku.version}
            if sku.sku_id in errors:
                counts["skus_failed"] += 1
                warnings.append(
                    f"TEMU refused stock {sku.target} for SKU {sku.sku_id}: {errors[sku.sku_id]}"
                )
                refused.append({**answered, "message": errors[sku.sku_id]})
                continue
            counts["skus_updated"] += 1
            synced.append(answered)
            if verbose:
                ctx.info(f"SKU {sku.sku_id}: stock {sku.temu} → {sku.target}")
    synced.sort(key=lambda row: row["row_id"])  # rows locked in id order, like every writer
    refused.sort(key=lambda row: row["row_id"])
    async with db.write() as session:
        connection = await session.connection()
        if synced:
            stored = _answered(
                temu_stock=bindparam("sent"), needs_sync=False, error=None, synced_at=utcnow()
            )
            await connection.execute(stored, synced)
        if refused:
            await connection.execute(_answered(error=bindparam("message")), refused)


def _answered(**values: Any) -> Update:
    """Store TEMU's answer to an edit in its row, unless an order sync forgot the row's TEMU
    stock while the edit was under way (its version moved on, its claim is gone): TEMU took the
    order's units off by itself, so what was sent no longer holds and is computed again."""
    table = cast(Table, TemuInventory.__table__)
    return (
        update(table)
        .where(
            table.c.id == bindparam("row_id"),
            table.c.temu_version == bindparam("version"),
            table.c.push_target == bindparam("sent"),
        )
        .values(push_key=None, push_target=None, **values)
    )
