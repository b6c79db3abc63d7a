"""TEMU webhook events on their way to an order sync: recorded by the webhook endpoint, taken by
the next order sync that reads those orders (a webhook-started one reads just them; a scheduled
one reads every change anyway), deleted once that sync stored the orders. Events a run took but
never stored (it failed, or its process died) wait again for the next sync."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.modules.temu.client import OrderListItem, TemuClient
from jobwerk.modules.temu.models import TemuOrderEvent
from jobwerk.modules.temu.store import chunks
from jobwerk.sdk import RunStatus
from jobwerk.storage.db import Database
from jobwerk.storage.models import Run, utcnow

ADDRESS_CHANGED = "bg_trade_logistics_address_changed"
ORDER_EVENTS = frozenset(
    {"bg_order_status_change_event", "bg_cancel_order_status_change", ADDRESS_CHANGED}
)
"""The events that name a parent order whose sync they call for."""
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
LIST_BY_NUMBER = 20
"""``parentOrderSnList`` takes at most 20 numbers per call."""


@dataclass(frozen=True, slots=True)
class Named:
    """The orders a webhook-started sync reads, and those whose address changed."""

    numbers: list[str]
    address_changed: set[str]


async def record_events(db: Database, instance_id: str, events: Sequence[tuple[str, str]]) -> None:
    """Store (parent order number, event code) pairs for the instance's next order sync."""
    rows = [
        {"instance_id": instance_id, "parent_order_sn": sn, "event_code": code,
         "received_at": utcnow()}
        for sn, code in events
    ]  # fmt: skip
    async with db.write() as session:
        await session.execute(insert(TemuOrderEvent), rows)


async def released_runs(events: Database, runs: Database, instance_id: str) -> set[str]:
    """The runs that took events of the instance and are no longer queued or running: they
    ended before storing the orders (which deletes the events), so their events wait again."""
    async with events.read() as session:
        found = await session.scalars(
            select(TemuOrderEvent.run_id)
            .where(TemuOrderEvent.instance_id == instance_id, TemuOrderEvent.run_id.is_not(None))
            .distinct()
        )
        takers = {run_id for run_id in found if run_id is not None}
    if not takers:
        return set()
    async with runs.read() as session:
        live = set(
            await session.scalars(select(Run.id).where(Run.id.in_(takers), Run.status.in_(ACTIVE)))
        )
    return takers - live


def _waiting(instance_id: str, run_id: str, released: set[str]) -> ColumnElement[bool]:
    """The events ``run_id`` may take: nobody's, its own (a retried step reads them again), and
    those of released runs."""
    taker = TemuOrderEvent.run_id
    return and_(
        TemuOrderEvent.instance_id == instance_id,
        or_(taker.is_(None), taker == run_id, taker.in_(sorted(released))),
    )


async def take_events(
    db: Database, instance_id: str, run_id: str, named: Sequence[str], released: set[str]
) -> Named:
    """Take every waiting event of the instance for ``run_id``: the orders to read are those
    named and those of the events."""
    async with db.write() as session:
        found = (
            await session.execute(
                select(TemuOrderEvent.id, TemuOrderEvent.parent_order_sn, TemuOrderEvent.event_code)
                .where(_waiting(instance_id, run_id, released))
                .order_by(TemuOrderEvent.id)
            )
        ).all()
        for part in chunks([row.id for row in found]):
            await session.execute(
                update(TemuOrderEvent).where(TemuOrderEvent.id.in_(part)).values(run_id=run_id)
            )
    numbers = list(dict.fromkeys([*named, *(row.parent_order_sn for row in found)]))
    changed = {row.parent_order_sn for row in found if row.event_code == ADDRESS_CHANGED}
    return Named(numbers, changed)


async def settle_events(
    db: Database, instance_id: str, run_id: str, released: set[str]
) -> set[str]:
    """A sync that reads every change takes the events waiting so far with it.

    Returns:
        The orders whose address changed: the sync reads their addresses again (a changed
        address need not show in the order list's changes).
    """
    mine = _waiting(instance_id, run_id, released)
    async with db.write() as session:
        changed = await session.scalars(
            select(TemuOrderEvent.parent_order_sn).where(
                mine, TemuOrderEvent.event_code == ADDRESS_CHANGED
            )
        )
        numbers = set(changed)
        await session.execute(update(TemuOrderEvent).where(mine).values(run_id=run_id))
    return numbers


async def finish_events(session: AsyncSession, instance_id: str, run_id: str) -> None:
    """The orders of the events ``run_id`` took are stored: the events are done."""
    await session.execute(
        delete(TemuOrderEvent).where(
            TemuOrderEvent.instance_id == instance_id, TemuOrderEvent.run_id == run_id
        )
    )


async def list_named(client: TemuClient, numbers: Sequence[str]) -> list[OrderListItem]:
    """The parent orders of ``numbers`` from TEMU's order list (unknown ones are absent)."""
    found: list[OrderListItem] = []
    for part in chunks(list(numbers), LIST_BY_NUMBER):
        found += await client.list_all_orders(parent_order_sns=part)
    return found
