"""Result types, errors and the backend interface of the JTL adapter."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from jobwerk.errors import AppError

if TYPE_CHECKING:
    from jobwerk.modules.temu.jtl._order import JtlOrder


class JtlError(AppError):
    """A failure talking to JTL-Wawi the operator has to look at."""

    status = 502


class JtlUnavailable(JtlError):
    """The eazybusiness database cannot be reached or answered with an error."""

    status = 503


@dataclass(frozen=True, slots=True)
class JtlHealth:
    """What `JtlDatabase.check()` found: version and the optional import-table columns."""

    version: str | None
    import_status_columns: bool


@dataclass(frozen=True, slots=True)
class Article:
    """One `dbo.tArtikel` row with its default name."""

    article_id: int
    sku: str
    ean: str | None
    name: str | None
    net_price: Decimal | None
    is_parent: bool


@dataclass(frozen=True, slots=True)
class StockLevel:
    """Stock of one article: what may be offered on the marketplace and where it comes from.

    `available` = floor(stock − buffer), clamped to 0 … 1,000,000 (TEMU's maximum); `stock` is
    the free quantity before the buffer (aggregate `fVerfuegbar`, or the sum over the configured
    warehouses of `fBestand − fVerfuegbarGesperrt`).
    """

    article_id: int
    sku: str
    stock: Decimal
    buffer: int
    available: int


@dataclass(frozen=True, slots=True)
class StockChanges:
    """JTL's stock since a mark: the levels of the articles whose stock rows changed (of every
    article when `complete`), and the mark to ask with next time (None: the next read is a
    complete one again, the backend cannot tell changes apart)."""

    levels: list[StockLevel]
    mark: int | None
    complete: bool


@dataclass(frozen=True, slots=True)
class QueueResult:
    """Outcome of queueing one order XML: the new import row, or why nothing was written."""

    external_order_number: str
    queued: bool
    import_id: int | None
    reason: str


class ImportState(enum.StrEnum):
    """Where an order stands in JTL's XML import."""

    MISSING = "missing"
    QUEUED = "queued"
    IMPORTED = "imported"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ImportStatus:
    """Import state of one external order number."""

    external_order_number: str
    state: ImportState
    import_id: int | None = None
    order_id: int | None = None
    order_number: str | None = None
    error: str | None = None
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class TrackingPackage:
    """One shipped package of an order, read from JTL's delivery notes (`tracking_number` is
    empty until one is entered)."""

    external_order_number: str
    delivery_note_number: str | None
    package_id: int
    tracking_number: str
    carrier: str | None
    shipped_at: datetime | None


@dataclass(frozen=True, slots=True)
class Customer:
    """An existing JTL customer."""

    customer_id: int
    customer_number: str


@dataclass(frozen=True, slots=True)
class ShippingMethod:
    """One `dbo.tversandart` row (the carrier name source for the TEMU mapping)."""

    shipping_method_id: int
    name: str
    active: bool


class JtlBackend(Protocol):
    """What the workflows need from JTL-Wawi; `JtlDatabase` and `JtlRest` provide it."""

    async def check(self) -> JtlHealth: ...

    def read_all_stock(self, page_size: int = 5000) -> AsyncIterator[list[StockLevel]]: ...

    async def stock_changes(self, mark: int | None) -> StockChanges: ...

    async def queue_orders(self, orders: Sequence[JtlOrder]) -> list[QueueResult]: ...

    async def article_prices(self, skus: Iterable[str]) -> dict[str, Decimal]: ...

    async def order_import_status(self, numbers: Iterable[str]) -> dict[str, ImportStatus]: ...

    async def read_tracking(self, numbers: Iterable[str]) -> dict[str, list[TrackingPackage]]: ...

    async def cancel_orders(self, numbers: Iterable[str]) -> dict[str, str | None]: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
