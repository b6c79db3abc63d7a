"""Leases that keep two runs of one shop from doing the same work at once, whichever processes
run them: ``orders`` (order syncs: the scheduled one and those webhooks start) and ``stock`` (the
inventory sync and the stock watch).

A lease is a row per (instance, name) naming the run that holds it. It is free when nobody
holds it or when its holder is no longer running: a run that fails or whose process dies lets
go without a clean-up (the engine marks a dead process's runs ``interrupted``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import exists, insert, or_, update
from sqlalchemy.exc import IntegrityError

from jobwerk.modules.temu.models import TemuLease
from jobwerk.modules.temu.workflows import _shop as shop
from jobwerk.modules.temu.workflows._preview import is_dry_run
from jobwerk.sdk import RunStatus, StepContext
from jobwerk.storage.db import Database
from jobwerk.storage.models import Run, utcnow

ORDERS = "orders"
STOCK = "stock"
WAIT_SECONDS = 0.5
StepFunc = Callable[[StepContext[Any]], Awaitable[Any]]


async def try_lease(db: Database, instance_id: str, name: str, holder: str) -> bool:
    """Take the lease for ``holder`` (a run id) unless another running run holds it.

    Returns:
        True when ``holder`` holds it now (it may have held it before).
    """
    running = exists().where(Run.id == TemuLease.holder, Run.status == RunStatus.RUNNING)
    async with db.write() as session:
        taken = await session.execute(
            update(TemuLease)
            .where(
                TemuLease.instance_id == instance_id,
                TemuLease.name == name,
                or_(TemuLease.holder.is_(None), TemuLease.holder == holder, ~running),
            )
            .values(holder=holder, acquired_at=utcnow())
        )
        if taken.rowcount:  # type: ignore[attr-defined]
            return True
        try:
            async with session.begin_nested():
                await session.execute(
                    insert(TemuLease).values(
                        instance_id=instance_id, name=name, holder=holder, acquired_at=utcnow()
                    )
                )
        except IntegrityError:
            return False  # the row exists: another running run holds it
        return True


async def release_lease(db: Database, instance_id: str, name: str, holder: str) -> None:
    """Let go of the lease if ``holder`` holds it."""
    async with db.write() as session:
        await session.execute(
            update(TemuLease)
            .where(
                TemuLease.instance_id == instance_id,
                TemuLease.name == name,
                TemuLease.holder == holder,
            )
            .values(holder=None)
        )


async def hold_lease(ctx: StepContext[Any], name: str) -> None:
    """Wait until this run holds the lease (checking for a cancel while waiting)."""
    owner = shop.instance_id(ctx)
    said = False
    while not await try_lease(ctx.db, owner, name, ctx.run_id):
        if not said:
            ctx.info(f"waiting for another run of this shop doing its {name} work")
            said = True
        await ctx.sleep(WAIT_SECONDS)


def holding(name: str, *, release: bool = False) -> Callable[[StepFunc], StepFunc]:
    """Decorate a step so that it runs holding the lease ``name`` (``release``: let go when it
    completes; the last step of the work does). A dry run writes nothing and takes none."""

    def wrap(func: StepFunc) -> StepFunc:
        @functools.wraps(func)
        async def step(ctx: StepContext[Any]) -> Any:
            if is_dry_run(ctx.params):
                return await func(ctx)
            await hold_lease(ctx, name)
            result = await func(ctx)
            if release:
                await release_lease(ctx.db, shop.instance_id(ctx), name, ctx.run_id)
            return result

        return step

    return wrap
