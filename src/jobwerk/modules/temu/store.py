"""The TEMU module's tables in jobwerk's database: raw responses, orders, inventory, shipments
and sync cursors, read and written by the steps through ``ctx.db``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.modules.temu.client import OrderStatus
from jobwerk.modules.temu.models import (
    TemuInventory,
    TemuOrder,
    TemuProduct,
    TemuRawResponse,
    TemuShipment,
    TemuSyncCursor,
)
from jobwerk.sdk import SUCCEEDED
from jobwerk.storage.db import Database
from jobwerk.storage.models import Run, utcnow

CHUNK = 500


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def save_raw(
    db: Database,
    instance_id: str,
    run_id: str,
    kind: str,
    items: Sequence[tuple[str, Any]],
    *,
    chunk: int = 200,
) -> None:
    """Store raw TEMU payloads of a run (``key`` names e.g. the parent order number).

    One short transaction per chunk, so the engine's own progress writes get through.
    """
    now = utcnow()
    for part in chunks(items, chunk):
        async with db.write() as session:
            await session.execute(
                insert(TemuRawResponse),
                [
                    {
                        "instance_id": instance_id,
                        "run_id": run_id,
                        "kind": kind,
                        "key": key,
                        "payload": payload,
                        "created_at": now,
                    }
                    for key, payload in part
                ],
            )


async def raw_payloads(
    session: AsyncSession, instance_id: str, run_id: str, kind: str
) -> dict[str, Any]:
    """The raw payloads of one kind a run stored, by key (the last one wins)."""
    rows = await session.execute(
        select(TemuRawResponse.key, TemuRawResponse.payload)
        .where(
            TemuRawResponse.instance_id == instance_id,
            TemuRawResponse.run_id == run_id,
            TemuRawResponse.kind == kind,
        )
        .order_by(TemuRawResponse.id)
    )
    return {key: payload for key, payload in rows.all()}  # noqa: C416


async def forget_raw(
    session: AsyncSession, instance_id: str, run_id: str, kinds: Sequence[str]
) -> None:
    """Drop what an earlier attempt of a step stored, and raw payloads older than 14 days."""
    await session.execute(
        delete(TemuRawResponse).where(
            TemuRawResponse.instance_id == instance_id,
            TemuRawResponse.run_id == run_id,
            TemuRawResponse.kind.in_(kinds),
        )
    )
    await session.execute(
        delete(TemuRawResponse).where(
            TemuRawResponse.instance_id == instance_id,
            TemuRawResponse.created_at < utcnow() - timedelta(days=14),
        )
    )


async def read_cursor(session: AsyncSession, instance_id: str, name: str) -> dict[str, Any]:
    cursor = await session.get(TemuSyncCursor, (instance_id, name))
    return dict(cursor.value) if cursor else {}


async def write_cursor(
    session: AsyncSession, instance_id: str, name: str, value: dict[str, Any]
) -> None:
    cursor = await session.get(TemuSyncCursor, (instance_id, name))
    if cursor is None:
        session.add(TemuSyncCursor(instance_id=instance_id, name=name, value=value))
    else:
        cursor.value = value


async def has_products(session: AsyncSession, instance_id: str) -> bool:
    found = await session.scalar(
        select(TemuProduct.id).where(TemuProduct.instance_id == instance_id).limit(1)
    )
    return found is not None


HELD_SHOWN = 50  # held orders listed in the stats; the run results list all of them


async def held_orders(
    session: AsyncSession, instance_id: str, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Orders to ship kept from JTL (a TEMU refusal, no price), with TEMU's code and the reason;
    a cancelled one is no longer held."""
    rows = await session.execute(
        select(TemuOrder.parent_order_sn, TemuOrder.error_code, TemuOrder.error)
        .where(
            TemuOrder.instance_id == instance_id,
            TemuOrder.xml_state == "pending",
            TemuOrder.status == OrderStatus.UN_SHIPPING,
            TemuOrder.error.is_not(None),
        )
        .order_by(TemuOrder.parent_order_sn)
        .limit(limit)
    )
    return [{"order": sn, "code": code, "reason": reason} for sn, code, reason in rows]


async def instance_stats(session: AsyncSession, instance_id: str) -> dict[str, Any]:
    """Orders by status and stage, inventory rows needing a sync, shipments by state, and
    the orders held back from JTL with their reason."""
    by_status = await session.execute(
        select(TemuOrder.status, func.count())
        .where(TemuOrder.instance_id == instance_id)
        .group_by(TemuOrder.status)
    )
    by_stage = await session.execute(
        select(TemuOrder.xml_state, func.count())
        .where(TemuOrder.instance_id == instance_id)
        .group_by(TemuOrder.xml_state)
    )
    shipments = await session.execute(
        select(TemuShipment.state, func.count())
        .where(TemuShipment.instance_id == instance_id)
        .group_by(TemuShipment.state)
    )
    inventory = await session.execute(
        select(TemuInventory.needs_sync, func.count())
        .where(TemuInventory.instance_id == instance_id)
        .group_by(TemuInventory.needs_sync)
    )
    held = await held_orders(session, instance_id, limit=HELD_SHOWN)
    stock = {bool(flag): count for flag, count in inventory}
    statuses = [
        {"status": status, "name": OrderStatus.NAMES.get(status, f"status {status}"), "count": n}
        for status, n in sorted(by_status.all())
    ]
    return {
        "orders": {"total": sum(s["count"] for s in statuses), "by_status": statuses},
        "jtl_import": {state: count for state, count in by_stage.all()},  # noqa: C416
        "shipments": {state: count for state, count in shipments.all()},  # noqa: C416
        "inventory": {
            "total": sum(stock.values()),
            "needs_sync": stock.get(True, 0),
        },
        "held_orders": held,
    }


def as_utc(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


async def last_successful_runs(session: AsyncSession, instance_id: str) -> dict[str, str | None]:
    """When each workflow last succeeded for the instance (ISO time), by workflow name; a dry
    run (a preview or a replay) synced nothing and does not count."""
    dry_run = func.coalesce(Run.params["dry_run"].as_boolean(), False)
    rows = await session.execute(
        select(Run.workflow, func.max(Run.finished_at))
        .where(
            Run.instance_id == instance_id,
            Run.status.in_(list(SUCCEEDED)),
            dry_run.is_(False),
        )
        .group_by(Run.workflow)
    )
    return {workflow: (at.isoformat() if at else None) for workflow, at in rows}
