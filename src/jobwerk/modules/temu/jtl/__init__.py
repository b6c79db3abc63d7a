"""JTL-Wawi side of the TEMU module: the eazybusiness (`db`) and REST API (`rest`) backends, the
order XML and the carrier mapping. The simulators to test against are in ``jtl_sandbox``."""

from jobwerk.modules.temu.jtl._carriers import (
    CarrierMapper,
    CarrierMatch,
    TemuCarrier,
    UnmappedCarrier,
    parse_logistics_companies,
)
from jobwerk.modules.temu.jtl._database import (
    DEFAULT_PLATFORM,
    MAX_MARKETPLACE_STOCK,
    JtlDatabase,
    create_jtl_engine,
)
from jobwerk.modules.temu.jtl._order import JtlAddress, JtlOrder, JtlOrderLine, LineKind
from jobwerk.modules.temu.jtl._queries import BATCH_SIZE
from jobwerk.modules.temu.jtl._rest import JtlRest
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
    StockChanges,
    StockLevel,
    TrackingPackage,
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
    "JtlUnavailable",
    "JtlXmlInvalid",
    "LineKind",
    "QueueResult",
    "ShippingMethod",
    "StockChanges",
    "StockLevel",
    "TemuCarrier",
    "TrackingPackage",
    "UnmappedCarrier",
    "create_jtl_engine",
    "is_latin1",
    "order_import_schema",
    "parse_logistics_companies",
    "render_order_documents",
    "render_order_xml",
    "to_latin1",
    "validate_order_xml",
]
