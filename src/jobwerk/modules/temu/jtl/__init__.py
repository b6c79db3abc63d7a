"""JTL-Wawi side of the TEMU module: eazybusiness adapter, local replica and simulated worker."""

from jobwerk.modules.temu.jtl._adapter import (
    DEFAULT_PLATFORM,
    MAX_MARKETPLACE_STOCK,
    JtlDatabase,
    create_jtl_engine,
)
from jobwerk.modules.temu.jtl._queries import BATCH_SIZE
from jobwerk.modules.temu.jtl._replica import (
    SHIPPING_METHODS,
    WAREHOUSES,
    ReplicaArticle,
    create_replica,
    generate_articles,
)
from jobwerk.modules.temu.jtl._types import (
    Article,
    Customer,
    ImportState,
    ImportStatus,
    JtlError,
    JtlHealth,
    JtlUnavailable,
    QueueResult,
    ShippingMethod,
    StockLevel,
    TrackingPackage,
)
from jobwerk.modules.temu.jtl._worker import (
    JtlWorkerSimulator,
    WorkerImport,
    WorkerPackage,
    WorkerShipment,
    tracking_number_for,
)

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_PLATFORM",
    "MAX_MARKETPLACE_STOCK",
    "SHIPPING_METHODS",
    "WAREHOUSES",
    "Article",
    "Customer",
    "ImportState",
    "ImportStatus",
    "JtlDatabase",
    "JtlError",
    "JtlHealth",
    "JtlUnavailable",
    "JtlWorkerSimulator",
    "QueueResult",
    "ReplicaArticle",
    "ShippingMethod",
    "StockLevel",
    "TrackingPackage",
    "WorkerImport",
    "WorkerPackage",
    "WorkerShipment",
    "create_jtl_engine",
    "create_replica",
    "generate_articles",
    "tracking_number_for",
]
