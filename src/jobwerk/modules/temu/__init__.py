"""TEMU marketplace module: TEMU client, sandbox, JTL adapter and the order/stock workflows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from jobwerk.modules.base import JobSpec, Module
from jobwerk.modules.temu.settings import TemuSettings
from jobwerk.modules.temu.workflows import sync_inventory, sync_orders, watch_stock
from jobwerk.modules.temu.workflows._shop import shop_resources
from jobwerk.sdk import Workflow

if TYPE_CHECKING:
    from jobwerk.sdk import Runtime
    from jobwerk.storage.models import Instance

__all__ = ["TemuModule", "TemuSettings", "job_ids", "module", "watch_job_id"]


def job_ids(instance: Instance | None) -> tuple[str, str]:
    """Ids of an instance's order and inventory jobs: plain for the primary, else suffixed."""
    if instance is None or instance.is_primary:
        return "sync_orders", "sync_inventory"
    suffix = re.sub(r"[^a-z0-9]+", "_", instance.name.casefold()).strip("_")[:40]
    suffix = suffix or instance.id[:8]
    return f"sync_orders_{suffix}", f"sync_inventory_{suffix}"


def watch_job_id(instance: Instance | None) -> str:
    """Id of an instance's stock watch job, named like its sync jobs."""
    orders, _ = job_ids(instance)
    return orders.replace("sync_orders", "watch_stock", 1)


class TemuModule(Module):
    name = "temu"
    version = "1.0.0"
    title = "TEMU"
    description = "TEMU marketplace ↔ JTL-Wawi: orders, tracking numbers and stock."
    settings_model = TemuSettings

    def workflows(self) -> Sequence[Workflow[Any]]:
        return (sync_orders, sync_inventory, watch_stock)

    def resources(self, runtime: Runtime) -> AbstractAsyncContextManager[Any]:
        """Each shop's JTL backend, kept open between the runs of a process."""
        return shop_resources()

    def routers(self) -> Sequence[Any]:
        from jobwerk.modules.temu.router import router

        return (router,)

    def public_routers(self) -> Sequence[Any]:
        from jobwerk.modules.temu.router import webhook_router

        return (webhook_router,)

    def cli(self) -> Any | None:
        from jobwerk.modules.temu.cli import app, sandbox_command

        return [app, sandbox_command]

    def default_jobs(self, instance: Instance | None) -> Sequence[JobSpec]:
        if instance is None:
            return ()
        orders, inventory = job_ids(instance)
        where = "" if instance.is_primary else f" ({instance.name})"
        return (
            JobSpec(
                orders,
                sync_orders.name,
                f"TEMU Order Sync - 5-Step Workflow{where}",
                interval_minutes=30,
            ),
            JobSpec(
                inventory,
                sync_inventory.name,
                f"TEMU Inventory Sync - 4-Step Workflow{where}",
                params={"mode": "quick"},
                interval_minutes=60,
            ),
            # One run watches for an hour; the minute interval starts the next one (a fire while
            # a run is active is skipped), so the watch is back a minute after a restart.
            JobSpec(
                watch_job_id(instance),
                watch_stock.name,
                f"TEMU Stock Watch - JTL changes to TEMU in seconds{where}",
                interval_minutes=1,
            ),
        )

    async def demo(self, runtime: Runtime) -> str:
        from jobwerk.modules.temu.demo import prepare_demo

        world = await prepare_demo(runtime)
        return f"TEMU sandbox on {world.server.url}, JTL replica {world.jtl_url}"

    async def health(self, runtime: Runtime, instance: Instance | None) -> dict[str, Any]:
        from jobwerk.core.instances import instance_config
        from jobwerk.modules.temu.workflows._shop import check_connections

        if instance is None:
            return {}
        config = instance_config(runtime.box, instance)
        return await check_connections(TemuSettings.model_validate(config.settings))


module = TemuModule()
