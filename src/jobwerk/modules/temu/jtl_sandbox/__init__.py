"""A JTL-Wawi to develop and test against, never used in production: a SQLite replica of the
eazybusiness tables the module reads and writes, a worker that imports queued orders and ships
them as Wawi would, and a REST API sandbox over that replica."""

from jobwerk.modules.temu.jtl_sandbox._replica import (
    SHIPPING_METHODS,
    WAREHOUSES,
    ReplicaArticle,
    create_replica,
    generate_articles,
)
from jobwerk.modules.temu.jtl_sandbox._rest import JtlRestSandbox
from jobwerk.modules.temu.jtl_sandbox._worker import (
    JtlWorkerSimulator,
    WorkerImport,
    WorkerPackage,
    WorkerShipment,
    tracking_number_for,
)

__all__ = [
    "SHIPPING_METHODS",
    "WAREHOUSES",
    "JtlRestSandbox",
    "JtlWorkerSimulator",
    "ReplicaArticle",
    "WorkerImport",
    "WorkerPackage",
    "WorkerShipment",
    "create_replica",
    "generate_articles",
    "tracking_number_for",
]
