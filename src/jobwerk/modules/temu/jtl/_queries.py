"""The adapter's queries, written once in SQLAlchemy Core for SQL Server and the SQLite replica.

Every builder is a pure function returning a statement, so tests can compile each one for the
`mssql` dialect. Lists of values are bound per batch of `BATCH_SIZE`, well below SQL Server's
2,100-parameter limit (JTL integrators use ≤ 1,000 per `IN` list).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Insert,
    Select,
    and_,
    bindparam,
    func,
    select,
    type_coerce,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnClause, FunctionElement

from jobwerk.modules.temu.jtl._schema import (
    ROWVERSION_TABLES,
    JtlDecimal,
    lvKunde,
    lvLieferschein,
    lvLieferscheinpaket,
    tArtikel,
    tArtikelBeschreibung,
    tAuftrag,
    tlagerbestand,
    tlagerbestandProLagerLagerartikel,
    tversandart,
    tversion,
    tXMLBestellImport,
)

BATCH_SIZE = 1000
"""Values bound per `IN (…)` list; each statement stays far below 2,100 parameters."""

_T = TypeVar("_T")

_LOCK_HINT = "WITH (UPDLOCK, HOLDLOCK)"
"""Serialises the duplicate check and the insert of one order number on SQL Server."""


def batched(values: Sequence[_T], size: int = BATCH_SIZE) -> Iterator[Sequence[_T]]:
    """Split `values` into consecutive slices of at most `size` items."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def version_query() -> Select[Any]:
    """`SELECT TOP 1 cVersion FROM dbo.tversion` — the reachability and version probe."""
    return select(tversion.c.cVersion).limit(1)


def _active_articles() -> ColumnElement[bool]:
    # Parents carry no stock of their own and are never pushed to a marketplace.
    return and_(tArtikel.c.nDelete == 0, tArtikel.c.nIstVater == 0)


def articles_query(skus: Sequence[str]) -> Select[Any]:
    """Articles by article number with their German default name (`kSprache = 1`)."""
    name = (
        select(tArtikelBeschreibung.c.cName)
        .where(
            tArtikelBeschreibung.c.kArtikel == tArtikel.c.kArtikel,
            tArtikelBeschreibung.c.kSprache == 1,
            tArtikelBeschreibung.c.kPlattform == 1,
        )
        .order_by(tArtikelBeschreibung.c.kShop)
        .limit(1)
        .scalar_subquery()
    )
    return select(
        tArtikel.c.kArtikel,
        tArtikel.c.cArtNr,
        tArtikel.c.cBarcode,
        name.label("cName"),
        tArtikel.c.fVKNetto,
        tArtikel.c.nIstVater,
    ).where(tArtikel.c.nDelete == 0, tArtikel.c.cArtNr.in_(list(skus)))


def stock_query(
    *,
    warehouse_ids: Sequence[int],
    skus: Sequence[str] | None = None,
    article_ids: Sequence[int] | None = None,
    after_article_id: int | None = None,
    limit: int | None = None,
) -> Select[Any]:
    """Free stock and buffer per article, by SKU list or as a keyset page over all articles.

    Without warehouses the aggregate `dbo.tlagerbestand.fVerfuegbar` is used (open orders
    already reserved); with warehouses, `fBestand − fVerfuegbarGesperrt` summed over them minus
    the article's open-order reservation (`tlagerbestand.fInAuftraegen`). JTL does not say which
    warehouse an open order will ship from, so the whole reservation counts against the offered
    warehouses: never more is offered than could be shipped.
    """
    if warehouse_ids:
        per_lager = tlagerbestandProLagerLagerartikel
        free = per_lager.c.fBestand - func.coalesce(per_lager.c.fVerfuegbarGesperrt, 0)
        reserved = func.coalesce(func.max(tlagerbestand.c.fInAuftraegen), 0)
        stock = type_coerce(func.coalesce(func.sum(free), 0) - reserved, JtlDecimal).label(
            "fBestand"
        )
        stmt = (
            select(tArtikel.c.kArtikel, tArtikel.c.cArtNr, tArtikel.c.nPuffer, stock)
            .select_from(
                tArtikel.outerjoin(
                    per_lager,
                    and_(
                        per_lager.c.kArtikel == tArtikel.c.kArtikel,
                        per_lager.c.kWarenlager.in_(list(warehouse_ids)),
                    ),
                ).outerjoin(tlagerbestand, tlagerbestand.c.kArtikel == tArtikel.c.kArtikel)
            )
            .group_by(tArtikel.c.kArtikel, tArtikel.c.cArtNr, tArtikel.c.nPuffer)
        )
    else:
        available = type_coerce(func.coalesce(tlagerbestand.c.fVerfuegbar, 0), JtlDecimal)
        stmt = select(
            tArtikel.c.kArtikel, tArtikel.c.cArtNr, tArtikel.c.nPuffer, available.label("fBestand")
        ).select_from(
            tArtikel.outerjoin(tlagerbestand, tlagerbestand.c.kArtikel == tArtikel.c.kArtikel)
        )
    stmt = stmt.where(_active_articles())
    if skus is not None:
        stmt = stmt.where(tArtikel.c.cArtNr.in_(list(skus)))
    if article_ids is not None:
        stmt = stmt.where(tArtikel.c.kArtikel.in_(list(article_ids)))
    if after_article_id is not None:
        stmt = stmt.where(tArtikel.c.kArtikel > after_article_id)
    if limit is not None:
        stmt = stmt.order_by(tArtikel.c.kArtikel).limit(limit)
    return stmt


ROWVERSION_COUNTER = "jw_rowversion"
"""The replica's stand-in for SQL Server's database-wide rowversion counter (one row, `value`)."""


class MinActiveRowversion(FunctionElement[int]):
    """`MIN_ACTIVE_ROWVERSION()` as a number: rows with a lower rowversion are committed."""

    type = BigInteger()
    inherit_cache = True


@compiles(MinActiveRowversion, "mssql")
def _min_active_mssql(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST(MIN_ACTIVE_ROWVERSION() AS BIGINT)"


@compiles(MinActiveRowversion)
def _min_active_replica(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(SELECT value + 1 FROM {ROWVERSION_COUNTER})"


class RowversionBetween(ColumnElement[bool]):
    """`low < bRowversion < high`, compared as `binary(8)` on SQL Server so that an index on the
    column can be used (a `CAST` of the column would scan it)."""

    inherit_cache = True

    def __init__(self, column: ColumnClause[Any], low: int, high: int) -> None:
        self.column = column
        self.low = bindparam("rowversion_low", low, BigInteger(), unique=True)
        self.high = bindparam("rowversion_high", high, BigInteger(), unique=True)


@compiles(RowversionBetween, "mssql")
def _between_mssql(element: RowversionBetween, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    low, high = compiler.process(element.low, **kw), compiler.process(element.high, **kw)
    return f"{column} > CAST({low} AS BINARY(8)) AND {column} < CAST({high} AS BINARY(8))"


@compiles(RowversionBetween)
def _between_replica(element: RowversionBetween, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    low, high = compiler.process(element.low, **kw), compiler.process(element.high, **kw)
    return f"{column} > {low} AND {column} < {high}"


def rowversion_upper_query() -> Select[Any]:
    """The rowversion below which every row change is committed (the delta's upper bound)."""
    return select(MinActiveRowversion())


def changed_articles_query(after: int, upper: int, *, warehouses: bool) -> Any:
    """Articles whose article row, aggregate stock row or (with ``warehouses``) per-warehouse
    stock row changed with a rowversion in (`after`, `upper`): a read whose cost follows the
    changes, not the article count, where `bRowversion` is indexed."""
    tables = ROWVERSION_TABLES if warehouses else ROWVERSION_TABLES[:2]
    return union(
        *(
            select(table.c.kArtikel).where(RowversionBetween(table.c.bRowversion, after, upper))
            for table in tables
        )
    )


def queued_imports_query(numbers: Sequence[str]) -> Select[Any]:
    """Import rows for a batch of order numbers, locked until the transaction ends (SQL Server).

    Needs `cBestellungInetBestellNr` (newer Wawi); see `queued_import_by_text_query` otherwise.
    """
    imp = tXMLBestellImport
    return (
        select(imp.c.kXMLBestellImport, imp.c.cBestellungInetBestellNr)
        .with_hint(imp, _LOCK_HINT, "mssql")
        .where(imp.c.cBestellungInetBestellNr.in_(list(numbers)))
        .order_by(imp.c.kXMLBestellImport)
    )


def queued_import_by_text_query(external_order_number: str) -> Select[Any]:
    """Import rows whose XML holds this order number, locked like `queued_imports_query`.

    Older Wawi versions lack `cBestellungInetBestellNr`; then the XML text is searched for the
    exact `<cExterneBestellNr>` element.
    """
    imp = tXMLBestellImport
    needle = f"<cExterneBestellNr>{external_order_number}</cExterneBestellNr>"
    return (
        select(imp.c.kXMLBestellImport)
        .with_hint(imp, _LOCK_HINT, "mssql")
        .where(imp.c.cText.contains(needle, autoescape=True))
        .order_by(imp.c.kXMLBestellImport)
    )


def insert_import_query(values: dict[str, Any]) -> Insert:
    """Insert one order XML into `dbo.tXMLBestellImport`, returning its key."""
    return tXMLBestellImport.insert().values(**values)


def import_rows_query(numbers: Sequence[str]) -> Select[Any]:
    """Import rows and their processing state for a batch of order numbers (newer Wawi)."""
    imp = tXMLBestellImport
    return (
        select(
            imp.c.kXMLBestellImport,
            imp.c.cBestellungInetBestellNr,
            imp.c.dZugelesen,
            imp.c.cFehlerText,
        )
        .where(imp.c.cBestellungInetBestellNr.in_(list(numbers)))
        .order_by(imp.c.kXMLBestellImport)
    )


def orders_query(numbers: Sequence[str]) -> Select[Any]:
    """Wawi orders for a batch of marketplace order numbers."""
    return (
        select(
            tAuftrag.c.kAuftrag,
            tAuftrag.c.cAuftragsNr,
            tAuftrag.c.cExterneAuftragsnummer,
            tAuftrag.c.nStorno,
        )
        .where(tAuftrag.c.cExterneAuftragsnummer.in_(list(numbers)))
        .order_by(tAuftrag.c.kAuftrag)
    )


def tracking_query(numbers: Sequence[str]) -> Select[Any]:
    """Packages (with their tracking number, if one was entered yet) for a batch of marketplace
    order numbers, of orders delivered completely (`nKomplettAusgeliefert`): TEMU takes an
    order's packages in one call.

    Reads the shipping views `Versand.lvLieferschein` and `Versand.lvLieferscheinpaket`; the
    carrier is the shipping method's name (`tVersand.cLogistiker` is usually empty).
    """
    ls, pkg, order = lvLieferschein, lvLieferscheinpaket, tAuftrag
    tracking = func.coalesce(func.ltrim(func.rtrim(pkg.c.cTrackingId)), "")
    return (
        select(
            ls.c.cBestellungInetBestellNr,
            ls.c.cLieferscheinNr,
            pkg.c.kInternePaketnummer,
            tracking.label("cTrackingId"),
            pkg.c.cVersandartName,
            pkg.c.dVersendet,
        )
        .select_from(
            ls.join(pkg, pkg.c.kLieferschein == ls.c.kLieferschein).join(
                order, order.c.cAuftragsNr == ls.c.cBestellNr
            )
        )
        .where(
            ls.c.cBestellungInetBestellNr.in_(list(numbers)),
            order.c.nKomplettAusgeliefert > 0,
        )
        .order_by(ls.c.cBestellungInetBestellNr, ls.c.dErstellt, pkg.c.kInternePaketnummer)
    )


def customer_by_email_query(email: str) -> Select[Any]:
    """The oldest customer with this e-mail and a customer number (`Kunde.lvKunde`)."""
    return (
        select(lvKunde.c.kKunde, lvKunde.c.cKundenNr)
        .where(lvKunde.c.cEMail == email, func.coalesce(lvKunde.c.cKundenNr, "") != "")
        .order_by(lvKunde.c.kKunde)
        .limit(1)
    )


def shipping_methods_query() -> Select[Any]:
    """All shipping methods (`dbo.tversandart`)."""
    return select(tversandart.c.kVersandArt, tversandart.c.cName, tversandart.c.cAktiv).order_by(
        tversandart.c.kVersandArt
    )
