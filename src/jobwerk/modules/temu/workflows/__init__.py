"""The TEMU workflows: ``temu.sync_orders``, ``temu.sync_inventory`` and ``temu.watch_stock``."""

from jobwerk.modules.temu.workflows._inventory import SyncInventoryParams, sync_inventory
from jobwerk.modules.temu.workflows._orders import SyncOrdersParams, sync_orders
from jobwerk.modules.temu.workflows._preview import previewable
from jobwerk.modules.temu.workflows._watch import WatchStockParams, watch_stock

# Every TEMU workflow can run as a dry run (a preview or a replay).
for _workflow in (sync_orders, sync_inventory, watch_stock):
    previewable(_workflow)

__all__ = [
    "SyncInventoryParams",
    "SyncOrdersParams",
    "WatchStockParams",
    "sync_inventory",
    "sync_orders",
    "watch_stock",
]
