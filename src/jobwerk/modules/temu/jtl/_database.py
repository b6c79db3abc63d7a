"""`JtlDatabase`: the `db` backend of the JTL adapter (eazybusiness over SQLAlchemy).

The drivers (pymssql, pyodbc, sqlite3) block, so every call runs in a worker thread on a sync
engine; the async methods are what the workflows await.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, Engine, Row, create_engine, inspect
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from jobwerk.modules.temu.jtl import _queries as q
from jobwerk.modules.temu.jtl._order import JtlOrder
from jobwerk.modules.temu.jtl._schema import (
    OPTIONAL_IMPORT_COLUMNS,
    ROWVERSION_TABLES,
    SCHEMAS,
    tXMLBestellImport,
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
    StockChanges,
    StockLevel,
    TrackingPackage,
)
from jobwerk.modules.temu.jtl._xml import render_order_documents

MAX_MARKETPLACE_STOCK = 1_000_000
"""TEMU accepts stock values up to this quantity."""

DEFAULT_PLATFORM = 5
"""`tXMLBestellImport.nPlattform` production connectors use (meaning not documented)."""

_T = TypeVar("_T")

IMPORT_TABLE = tXMLBestellImport.name


def create_jtl_engine(url: str, **engine_kwargs: Any) -> Engine:
    """A sync engine for an eazybusiness URL (`mssql+pymssql://…`, `mssql+pyodbc://…`).

    For `sqlite://` URLs (the replica) the schema names `dbo`, `Verkauf`, … are mapped to the one
    SQLite database, which has no schemas.
    """
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, **engine_kwargs)
    if engine.dialect.name == "sqlite":
        return engine.execution_options(schema_translate_map=dict.fromkeys(SCHEMAS))
    return engine


def _normalise(sku: str) -> str:
    # SQL Server compares cArtNr case-insensitively and ignores trailing spaces.
    return sku.strip().casefold()


def _stock_level(row: Row[Any]) -> StockLevel:
    stock = Decimal(row.fBestand or 0)
    buffer = int(row.nPuffer or 0)
    available = min(max(math.floor(stock - buffer), 0), MAX_MARKETPLACE_STOCK)
    return StockLevel(row.kArtikel, row.cArtNr, stock, buffer, available)


class JtlDatabase:
    """Reads stock, tracking and customers from eazybusiness; queues orders for JTL-Worker.

    Args:
        engine: a sync engine, see `create_jtl_engine`.
        warehouse_ids: `kWarenLager` ids whose stock is summed; empty = all warehouses, with
            open-order reservations subtracted (`dbo.tlagerbestand.fVerfuegbar`).
        platform: `nPlattform` written with each queued order.
        create_invoice: `nRechnung` written with each queued order.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        warehouse_ids: Sequence[int] = (),
        platform: int = DEFAULT_PLATFORM,
        create_invoice: int = 0,
    ) -> None:
        self.engine = engine
        self.warehouse_ids = tuple(warehouse_ids)
        self.platform = platform
        self.create_invoice = create_invoice
        self._import_columns: frozenset[str] | None = None
        self._rowversions: bool | None = None
        self._queue_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Self:
        """Create the adapter with its own engine for `url`."""
        return cls(create_jtl_engine(url), **kwargs)

    async def close(self) -> None:
        """Close all pooled connections."""
        await asyncio.to_thread(self.engine.dispose)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _run(self, work: Callable[[], _T]) -> _T:
        return await asyncio.to_thread(self._guarded, work)

    @staticmethod
    def _guarded(work: Callable[[], _T]) -> _T:
        try:
            return work()
        except (OperationalError, InterfaceError) as exc:
            raise JtlUnavailable(f"JTL database unavailable: {exc.orig or exc}") from exc
        except SQLAlchemyError as exc:
            raise JtlError(f"JTL database error: {exc}") from exc

    def _probe_import_columns(self) -> frozenset[str]:
        # Columns move between Wawi versions; ask the catalogue instead of assuming them.
        if self._import_columns is None:
            schema = None if self.engine.dialect.name == "sqlite" else "dbo"
            with self.engine.connect() as conn:
                present = {c["name"] for c in inspect(conn).get_columns(IMPORT_TABLE, schema)}
            self._import_columns = frozenset(c for c in OPTIONAL_IMPORT_COLUMNS if c in present)
        return self._import_columns

    async def check(self) -> JtlHealth:
        """Check that eazybusiness answers; probe the optional import-table columns.

        Raises:
            JtlUnavailable: the database cannot be reached.
        """

        def work() -> JtlHealth:
            with self.engine.connect() as conn:
                version = conn.execute(q.version_query()).scalar_one_or_none()
            columns = self._probe_import_columns()
            return JtlHealth(version, {"dZugelesen", "cFehlerText"} <= columns)

        return await self._run(work)

    async def read_articles(self, skus: Iterable[str]) -> dict[str, Article]:
        """Articles (not deleted) by article number, keyed by the SKU as requested."""
        wanted = {_normalise(s): s for s in skus if s.strip()}

        def work() -> dict[str, Article]:
            found: dict[str, Article] = {}
            with self.engine.connect() as conn:
                for batch in q.batched([s.strip() for s in wanted.values()]):
                    for row in conn.execute(q.articles_query(batch)):
                        key = wanted.get(_normalise(row.cArtNr), row.cArtNr)
                        found[key] = Article(
                            row.kArtikel,
                            row.cArtNr,
                            row.cBarcode or None,
                            row.cName,
                            row.fVKNetto,
                            bool(row.nIstVater),
                        )
            return found

        return await self._run(work)

    async def article_prices(self, skus: Iterable[str]) -> dict[str, Decimal]:
        """Net sales price (`fVKNetto`) of each article that has one, by SKU as requested."""
        articles = await self.read_articles(skus)
        return {sku: a.net_price for sku, a in articles.items() if a.net_price and a.net_price > 0}

    async def read_stock(self, skus: Iterable[str]) -> dict[str, StockLevel]:
        """Marketplace stock (stock − buffer) per SKU; unknown SKUs are absent from the result."""
        wanted = {_normalise(s): s for s in skus if s.strip()}

        def work() -> dict[str, StockLevel]:
            found: dict[str, StockLevel] = {}
            with self.engine.connect() as conn:
                for batch in q.batched([s.strip() for s in wanted.values()]):
                    stmt = q.stock_query(warehouse_ids=self.warehouse_ids, skus=batch)
                    for row in conn.execute(stmt):
                        found[wanted.get(_normalise(row.cArtNr), row.cArtNr)] = _stock_level(row)
            return found

        return await self._run(work)

    async def read_all_stock(self, page_size: int = 5000) -> AsyncIterator[list[StockLevel]]:
        """Stock of every active article, in pages ordered by article id (keyset paging)."""
        after: int | None = None
        while True:
            page = await self._run(partial(self._stock_page, after, page_size))
            if not page:
                return
            yield page
            if len(page) < page_size:
                return
            after = page[-1].article_id

    def _stock_page(self, after: int | None, size: int) -> list[StockLevel]:
        stmt = q.stock_query(warehouse_ids=self.warehouse_ids, after_article_id=after, limit=size)
        with self.engine.connect() as conn:
            return [_stock_level(row) for row in conn.execute(stmt)]

    async def stock_changes(self, mark: int | None) -> StockChanges:
        """The stock of the articles whose stock changed since `mark` (a rowversion; None: of
        every article), read through `bRowversion` of `tArtikel`, `tlagerbestand` and, with
        warehouses, `tlagerbestandProLagerLagerartikel`: the cost follows the changes (with an
        index on the column) instead of the article count. A database without the column (an
        old replica) answers with every article each time (`mark` None)."""
        if not await self._run(self._has_rowversions):
            levels = [level async for page in self.read_all_stock() for level in page]
            return StockChanges(levels, None, complete=True)
        upper = await self._run(self._rowversion_upper)
        if mark is None:
            # The upper bound is read first: what changes during the long read comes again.
            levels = [level async for page in self.read_all_stock() for level in page]
            return StockChanges(levels, upper - 1, complete=True)
        return StockChanges(
            await self._run(partial(self._changed_stock, mark, upper)), upper - 1, complete=False
        )

    def _has_rowversions(self) -> bool:
        if self._rowversions is None:
            sqlite = self.engine.dialect.name == "sqlite"
            tables = ROWVERSION_TABLES if self.warehouse_ids else ROWVERSION_TABLES[:2]
            with self.engine.connect() as conn:
                found = inspect(conn)
                columns = [
                    {c["name"] for c in found.get_columns(t.name, None if sqlite else t.schema)}
                    for t in tables
                ]
                counter = not sqlite or found.has_table(q.ROWVERSION_COUNTER)
            self._rowversions = counter and all("bRowversion" in names for names in columns)
        return self._rowversions

    def _rowversion_upper(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(q.rowversion_upper_query()).scalar_one())

    def _changed_stock(self, after: int, upper: int) -> list[StockLevel]:
        with self.engine.connect() as conn:
            query = q.changed_articles_query(after, upper, warehouses=bool(self.warehouse_ids))
            ids = list(conn.execute(query).scalars())
            levels: list[StockLevel] = []
            for batch in q.batched(ids):
                stmt = q.stock_query(warehouse_ids=self.warehouse_ids, article_ids=batch)
                levels += [_stock_level(row) for row in conn.execute(stmt)]
        return levels

    async def queue_orders(self, orders: Sequence[JtlOrder]) -> list[QueueResult]:
        """Queue orders as import XML (each document checked against the shipped XSD).

        Raises:
            JtlXmlInvalid: an order's document does not match the XSD (nothing written).
        """
        documents = render_order_documents(orders)
        return await self.queue_orders_xml(
            [(o.external_order_number, xml) for o, xml in zip(orders, documents, strict=True)]
        )

    async def queue_order_xml(self, external_order_number: str, xml: bytes) -> QueueResult:
        """Insert one order XML into `dbo.tXMLBestellImport` unless the order is known.

        Idempotent by external order number: when a Wawi order or an import row for it exists,
        nothing is written and `queued` is False.
        """
        return (await self.queue_orders_xml([(external_order_number, xml)]))[0]

    async def queue_orders_xml(self, documents: Sequence[tuple[str, bytes]]) -> list[QueueResult]:
        """Insert order XMLs (external order number, document) in one transaction.

        Idempotent per external order number like `queue_order_xml`, also within `documents`
        (the first document of a number is queued). The known orders and import rows are looked
        up with one `IN` list per `BATCH_SIZE` numbers. All or nothing: when the database fails,
        none of the documents is queued.

        Returns:
            One result per document, in the order given.

        Raises:
            JtlError: an order number is empty or longer than 50 characters (nothing written).
        """
        for number, _ in documents:
            if not 0 < len(number) <= 50:
                raise JtlError(f"external order number must have 1-50 characters: {number!r}")
        texts = [(number, xml.decode("iso-8859-1")) for number, xml in documents]

        def work() -> list[QueueResult]:
            columns = self._probe_import_columns()
            with self._queue_lock, self.engine.begin() as conn:
                return self._queue(conn, texts, columns)

        return await self._run(work)

    def _queue(
        self, conn: Connection, documents: Sequence[tuple[str, str]], columns: frozenset[str]
    ) -> list[QueueResult]:
        has_number = "cBestellungInetBestellNr" in columns
        known = self._known_orders(conn, [number for number, _ in documents], has_number)
        results: list[QueueResult] = []
        for number, text in documents:
            found = known.get(_normalise(number))
            if found is None and not has_number:
                row = conn.execute(q.queued_import_by_text_query(number)).first()
                if row is not None:
                    found = QueueResult(
                        number, False, row.kXMLBestellImport, "order already queued"
                    )
            if found is None:
                found = self._insert(conn, number, text, columns)
                known[_normalise(number)] = replace(
                    found, queued=False, reason="order already queued"
                )
            results.append(replace(found, external_order_number=number))
        return results

    @staticmethod
    def _known_orders(
        conn: Connection, numbers: Sequence[str], has_number: bool
    ) -> dict[str, QueueResult]:
        """Wawi orders first, then import rows, by normalised number (SQL Server's comparison)."""
        known: dict[str, QueueResult] = {}
        for batch in q.batched(list(dict.fromkeys(numbers))):
            for row in conn.execute(q.orders_query(batch)):
                known.setdefault(
                    _normalise(row.cExterneAuftragsnummer),
                    QueueResult(row.cExterneAuftragsnummer, False, None,
                                "order already exists in JTL-Wawi"),
                )  # fmt: skip
            if has_number:
                for row in conn.execute(q.queued_imports_query(batch)):
                    known.setdefault(
                        _normalise(row.cBestellungInetBestellNr),
                        QueueResult(row.cBestellungInetBestellNr, False, row.kXMLBestellImport,
                                    "order already queued"),
                    )  # fmt: skip
        return known

    def _insert(
        self, conn: Connection, number: str, text: str, columns: frozenset[str]
    ) -> QueueResult:
        values: dict[str, Any] = {
            "cText": text,
            "nPlattform": self.platform,
            "nRechnung": self.create_invoice,
        }
        if "cBestellungInetBestellNr" in columns:
            values["cBestellungInetBestellNr"] = number
        if "dErstellt" in columns:
            # Wawi stores local server time without a zone.
            values["dErstellt"] = datetime.now().replace(microsecond=0)
        result = conn.execute(q.insert_import_query(values))
        key = result.inserted_primary_key
        if key is None:
            raise JtlError(f"no key returned for the queued order {number}")
        return QueueResult(number, True, int(key[0]), "queued")

    async def order_import_status(self, numbers: Iterable[str]) -> dict[str, ImportStatus]:
        """Import state per external order number (Wawi order first, then the import row)."""
        wanted = list(dict.fromkeys(numbers))

        def work() -> dict[str, ImportStatus]:
            has_rows = "cBestellungInetBestellNr" in self._probe_import_columns()
            imports: dict[str, Row[Any]] = {}
            orders: dict[str, Row[Any]] = {}
            with self.engine.connect() as conn:
                for batch in q.batched(wanted):
                    for row in conn.execute(q.orders_query(batch)):
                        orders.setdefault(row.cExterneAuftragsnummer, row)
                    if has_rows:
                        for row in conn.execute(q.import_rows_query(batch)):
                            imports[row.cBestellungInetBestellNr] = row
            return {n: _import_status(n, orders.get(n), imports.get(n)) for n in wanted}

        return await self._run(work)

    async def read_tracking(self, numbers: Iterable[str]) -> dict[str, list[TrackingPackage]]:
        """Packages per external order number, for orders delivered completely (absent: none
        yet, or not all of the order shipped yet); `tracking_number` is empty for a package
        whose number was not entered yet."""
        wanted = list(dict.fromkeys(numbers))

        def work() -> dict[str, list[TrackingPackage]]:
            found: dict[str, list[TrackingPackage]] = {}
            with self.engine.connect() as conn:
                for batch in q.batched(wanted):
                    for row in conn.execute(q.tracking_query(batch)):
                        found.setdefault(row.cBestellungInetBestellNr, []).append(
                            TrackingPackage(
                                row.cBestellungInetBestellNr,
                                row.cLieferscheinNr,
                                row.kInternePaketnummer,
                                row.cTrackingId,
                                row.cVersandartName,
                                row.dVersendet,
                            )
                        )
            return found

        return await self._run(work)

    async def cancel_orders(self, numbers: Iterable[str]) -> dict[str, str | None]:
        """Orders cannot be cancelled through the database: says so for each (see the REST
        backend, which can)."""
        return dict.fromkeys(numbers, "cancel it in JTL-Wawi, do not ship it")

    async def find_customer_by_email(self, email: str) -> Customer | None:
        """The existing customer with this e-mail address, if any."""
        address = email.strip()
        if not address:
            return None

        def work() -> Customer | None:
            with self.engine.connect() as conn:
                row = conn.execute(q.customer_by_email_query(address)).first()
            return None if row is None else Customer(row.kKunde, row.cKundenNr)

        return await self._run(work)

    async def read_shipping_methods(self) -> list[ShippingMethod]:
        """All shipping methods; their names are what the carrier mapping maps."""

        def work() -> list[ShippingMethod]:
            with self.engine.connect() as conn:
                rows = conn.execute(q.shipping_methods_query()).all()
            return [ShippingMethod(r.kVersandArt, r.cName or "", r.cAktiv == "Y") for r in rows]

        return await self._run(work)


def _import_status(number: str, order: Row[Any] | None, imp: Row[Any] | None) -> ImportStatus:
    import_id = None if imp is None else imp.kXMLBestellImport
    if order is not None:
        return ImportStatus(
            number,
            ImportState.IMPORTED,
            import_id=import_id,
            order_id=order.kAuftrag,
            order_number=order.cAuftragsNr,
            cancelled=bool(order.nStorno),
        )
    if imp is None:
        return ImportStatus(number, ImportState.MISSING)
    if imp.cFehlerText:
        return ImportStatus(number, ImportState.FAILED, import_id=import_id, error=imp.cFehlerText)
    return ImportStatus(number, ImportState.QUEUED, import_id=import_id)
