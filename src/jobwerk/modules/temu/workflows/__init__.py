"""The TEMU workflows: ``temu.sync_orders`` and ``temu.sync_inventory``."""

from jobwerk.modules.temu.workflows._inventory import SyncInventoryParams, sync_inventory
from jobwerk.modules.temu.workflows._orders import SyncOrdersParams, sync_orders

__all__ = ["SyncInventoryParams", "SyncOrdersParams", "sync_inventory", "sync_orders"]
