"""TEMU sandbox: a local HTTP server that behaves like TEMU's Open API for tests and demos."""

from ._app import create_sandbox_app
from ._config import SandboxConfig
from ._data import Address, Carrier, OrderLine, ParentOrder, Shipment, Sku, TokenGrant, Warehouse
from ._envelope import SandboxError
from ._faults import FAULT_KINDS, Fault
from ._sandbox import SandboxResponse, TemuSandbox
from ._serve import SandboxServer, ThreadedServer, serve_sandbox

__all__ = [
    "FAULT_KINDS",
    "Address",
    "Carrier",
    "Fault",
    "OrderLine",
    "ParentOrder",
    "SandboxConfig",
    "SandboxError",
    "SandboxResponse",
    "SandboxServer",
    "Shipment",
    "Sku",
    "TemuSandbox",
    "ThreadedServer",
    "TokenGrant",
    "Warehouse",
    "create_sandbox_app",
    "serve_sandbox",
]
