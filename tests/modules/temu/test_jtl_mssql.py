"""Every adapter query compiles for SQL Server with JTL's exact object names."""

from __future__ import annotations

from sqlalchemy import ClauseElement
from sqlalchemy.dialects import mssql

from jobwerk.modules.temu.jtl import BATCH_SIZE
from jobwerk.modules.temu.jtl import _queries as q

SKUS = [f"ART-{i}" for i in range(BATCH_SIZE)]


def _sql(statement: ClauseElement) -> tuple[str, int]:
    # Expanding IN lists become one bound parameter per value, as the driver sends them.
    dialect = mssql.dialect()  # type: ignore[no-untyped-call]
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), len(compiled.params)


def test_every_query_compiles_for_mssql_below_the_parameter_limit() -> None:
    statements = [
        q.version_query(),
        q.articles_query(SKUS),
        q.stock_query(warehouse_ids=[], skus=SKUS),
        q.stock_query(warehouse_ids=[1, 2], skus=SKUS),
        q.stock_query(warehouse_ids=[2], after_article_id=10, limit=5000),
        q.queued_imports_query(SKUS),
        q.queued_import_by_text_query("PO-076-1"),
        q.insert_import_query({"cText": "<x/>", "nPlattform": 5, "nRechnung": 0}),
        q.import_rows_query(SKUS),
        q.orders_query(SKUS),
        q.tracking_query(SKUS),
        q.customer_by_email_query("a@b.de"),
        q.shipping_methods_query(),
    ]
    for statement in statements:
        sql, parameters = _sql(statement)
        assert sql
        assert parameters < 2100, sql[:200]
    assert max(_sql(s)[1] for s in statements) >= BATCH_SIZE


def test_mssql_sql_uses_jtl_schemas_and_names() -> None:
    stock, _ = _sql(q.stock_query(warehouse_ids=[1], after_article_id=0, limit=500))
    assert "FROM dbo.[tArtikel] LEFT OUTER JOIN dbo.[tlagerbestandProLagerLagerartikel]" in stock
    assert stock.startswith("SELECT TOP 500 dbo.[tArtikel].[kArtikel]")
    assert "ORDER BY dbo.[tArtikel].[kArtikel]" in stock
    assert "[tlagerbestandProLagerLagerartikel].[kWarenlager] IN (:kWarenlager_1_1)" in stock

    tracking, _ = _sql(q.tracking_query(["PO-076-1"]))
    assert "[Versand].[lvLieferschein]" in tracking
    assert "[Versand].[lvLieferscheinpaket]" in tracking
    assert "ltrim(rtrim(" in tracking

    for guarded in (q.queued_imports_query(["PO-076-1"]), q.queued_import_by_text_query("PO-1")):
        guard, _ = _sql(guarded)
        assert "dbo.[tXMLBestellImport] WITH (UPDLOCK, HOLDLOCK)" in guard

    order, _ = _sql(q.orders_query(["PO-076-1"]))
    assert "[Verkauf].[tAuftrag]" in order and "[cExterneAuftragsnummer]" in order

    customer, _ = _sql(q.customer_by_email_query("a@b.de"))
    assert customer.startswith("SELECT TOP 1 [Kunde].[lvKunde].[kKunde]")
    assert "[Kunde].[lvKunde]" in customer


def test_batches_split_at_the_batch_size() -> None:
    values = list(range(2 * BATCH_SIZE + 1))

    assert [len(b) for b in q.batched(values)] == [BATCH_SIZE, BATCH_SIZE, 1]
