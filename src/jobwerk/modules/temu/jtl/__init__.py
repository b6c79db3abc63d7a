"""JTL-Wawi side of the TEMU module: the eazybusiness (`db`) and REST API (`rest`) backends, a
local replica with a simulated worker, and a REST API sandbox over that replica."""

from jobwerk.modules.temu.jtl._adapter import (
    DEFAULT_PLATFORM,
    MAX_MARKETPLACE_STOCK,
    JtlDatabase,
    create_jtl_engine,
)
from jobwerk.modules.temu.jtl._carriers import (
    CarrierMapper,
    CarrierMatch,
    TemuCarrier,
    UnmappedCarrier,
    parse_logistics_companies,
)
from jobwerk.modules.temu.jtl._order import JtlAddress, JtlOrder, JtlOrderLine, LineKind
from jobwerk.modules.temu.jtl._queries import BATCH_SIZE
from jobwerk.modules.temu.jtl._replica import (
    SHIPPING_METHODS,
    WAREHOUSES,
    ReplicaArticle,
    create_replica,
    generate_articles,
)
from jobwerk.modules.temu.jtl._rest import JtlRest
from jobwerk.modules.temu.jtl._rest_sandbox import JtlRestSandbox
from jobwerk.modules.temu.jtl._types import (
    Article,
    Customer,
    ImportState,
    ImportStatus,
    JtlBackend,
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
from jobwerk.modules.temu.jtl._xml import (
    XML_ENCODING,
    JtlXmlInvalid,
    is_latin1,
    order_import_schema,
    render_order_documents,
    render_order_xml,
    to_latin1,
    validate_order_xml,
)

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_PLATFORM",
    "MAX_MARKETPLACE_STOCK",
    "SHIPPING_METHODS",
    "WAREHOUSES",
    "XML_ENCODING",
    "Article",
    "CarrierMapper",
    "CarrierMatch",
    "Customer",
    "ImportState",
    "ImportStatus",
    "JtlAddress",
    "JtlBackend",
    "JtlDatabase",
    "JtlError",
    "JtlHealth",
    "JtlOrder",
    "JtlOrderLine",
    "JtlRest",
    "JtlRestSandbox",
    "JtlUnavailable",
    "JtlWorkerSimulator",
    "JtlXmlInvalid",
    "LineKind",
    "QueueResult",
    "ReplicaArticle",
    "ShippingMethod",
    "StockLevel",
    "TemuCarrier",
    "TrackingPackage",
    "UnmappedCarrier",
    "WorkerImport",
    "WorkerPackage",
    "WorkerShipment",
    "create_jtl_engine",
    "create_replica",
    "generate_articles",
    "is_latin1",
    "order_import_schema",
    "parse_logistics_companies",
    "render_order_documents",
    "render_order_xml",
    "to_latin1",
    "tracking_number_for",
    "validate_order_xml",
]
