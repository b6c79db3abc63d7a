"""SQLAlchemy Core tables of the eazybusiness objects the connector reads or writes.

Names are exactly JTL's (mixed case included); only the columns the connector or the replica uses
are declared. Views (`Versand.lvLieferschein`, `Kunde.lvKunde`, …) are declared as tables too so
queries can select from them; the replica creates them as SQL views.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    Numeric,
    Table,
    Unicode,
    UnicodeText,
)
from sqlalchemy.dialects import mssql
from sqlalchemy.types import TypeDecorator, TypeEngine

SCHEMAS = ("dbo", "Verkauf", "Versand", "Kunde")
"""Schema names of the objects below; SQLite replicas map them all to the main database."""


class JtlDecimal(TypeDecorator[Decimal]):
    """JTL's `decimal(25, 13)`: exact on SQL Server, REAL on SQLite, always `Decimal` in Python.

    SQLite has no decimal type; converting there (instead of SQLAlchemy's lossy-conversion
    warning) keeps the replica quiet and the results typed the same on both backends.
    """

    impl = Numeric(25, 13)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(25, 13, asdecimal=False))
        return dialect.type_descriptor(Numeric(25, 13))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None and dialect.name == "sqlite":
            return float(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


metadata = MetaData()

RowVersion = BigInteger().with_variant(mssql.ROWVERSION(), "mssql")  # type: ignore[no-untyped-call]
"""JTL's `bRowversion`: SQL Server's `rowversion`, which changes whenever the row changes (the
replica maintains an integer with triggers, see `jtl_sandbox`)."""


def _key(name: str, *, primary: bool = False) -> Column[int]:
    return Column(name, Integer, primary_key=primary, autoincrement=primary)


tArtikel = Table(
    "tArtikel",
    metadata,
    _key("kArtikel", primary=True),
    # The replica compares article numbers case-insensitively, like JTL's default collation.
    Column("cArtNr", Unicode(100).with_variant(Unicode(100, collation="NOCASE"), "sqlite")),
    Column("cBarcode", Unicode(255)),
    Column("cAktiv", Unicode(1)),
    Column("nDelete", Integer, nullable=False, default=0),
    Column("nIstVater", Integer, nullable=False, default=0),
    Column("kVaterArtikel", Integer),
    Column("kStueckliste", Integer),
    Column("cLagerArtikel", Unicode(1)),
    Column("cLagerKleinerNull", Unicode(1)),
    Column("nPuffer", Integer),
    Column("nPufferTyp", Integer),
    Column("fVKNetto", JtlDecimal),
    Column("kSteuerklasse", Integer),
    Column("bRowversion", RowVersion),
    schema="dbo",
)

tArtikelBeschreibung = Table(
    "tArtikelBeschreibung",
    metadata,
    Column("kArtikel", Integer, primary_key=True, autoincrement=False),
    Column("kSprache", Integer, primary_key=True, autoincrement=False),
    Column("kPlattform", Integer, primary_key=True, autoincrement=False),
    Column("kShop", Integer, primary_key=True, autoincrement=False),
    Column("cName", Unicode(255)),
    schema="dbo",
)

tlagerbestand = Table(
    "tlagerbestand",
    metadata,
    Column("kArtikel", Integer, primary_key=True, autoincrement=False),
    Column("fLagerbestand", JtlDecimal),
    Column("fInAuftraegen", JtlDecimal),
    Column("fVerfuegbar", JtlDecimal),
    Column("fVerfuegbarGesperrt", JtlDecimal),
    Column("bRowversion", RowVersion),
    schema="dbo",
)

tlagerbestandProLagerLagerartikel = Table(
    "tlagerbestandProLagerLagerartikel",
    metadata,
    Column("kArtikel", Integer, primary_key=True, autoincrement=False),
    Column("kWarenlager", Integer, primary_key=True, autoincrement=False),
    Column("fBestand", JtlDecimal),
    Column("fVerfuegbarGesperrt", JtlDecimal),
    Column("fAuslieferungGesperrt", JtlDecimal),
    Column("bRowversion", RowVersion),
    schema="dbo",
)

tWarenLager = Table(
    "tWarenLager",
    metadata,
    _key("kWarenLager", primary=True),
    Column("cName", Unicode(255)),
    Column("cKuerzel", Unicode(255)),
    Column("nAktiv", Integer),
    schema="dbo",
)

tXMLBestellImport = Table(
    "tXMLBestellImport",
    metadata,
    _key("kXMLBestellImport", primary=True),
    Column("cText", UnicodeText),
    Column("nPlattform", Integer),
    Column("nRechnung", Integer),
    # Newer Wawi versions only; the adapter probes for them before use.
    Column("cBestellungInetBestellNr", Unicode(50)),
    Column("dErstellt", DateTime),
    Column("dZugelesen", DateTime),
    Column("cFehlerText", UnicodeText),
    schema="dbo",
)
ROWVERSION_TABLES = (tArtikel, tlagerbestand, tlagerbestandProLagerLagerartikel)
"""The stock tables whose `bRowversion` tells which articles' stock changed."""

OPTIONAL_IMPORT_COLUMNS = ("cBestellungInetBestellNr", "dErstellt", "dZugelesen", "cFehlerText")

tAuftrag = Table(
    "tAuftrag",
    metadata,
    _key("kAuftrag", primary=True),
    Column("cAuftragsNr", Unicode(50)),
    Column("cExterneAuftragsnummer", Unicode(50)),
    Column("kKunde", Integer),
    Column("cKundenNr", Unicode(30)),
    Column("kPlattform", Integer),
    Column("kVersandArt", Integer),
    Column("kWarenlager", Integer),
    Column("cWaehrung", Unicode(3)),
    Column("cVersandlandISO", Unicode(5)),
    Column("nStorno", Integer, default=0),
    Column("nKomplettAusgeliefert", Integer, default=0),
    Column("dErstellt", DateTime),
    Column("dErstelltWawi", DateTime),
    schema="Verkauf",
)

tAuftragPosition = Table(
    "tAuftragPosition",
    metadata,
    _key("kAuftragPosition", primary=True),
    Column("kAuftrag", Integer, nullable=False),
    Column("kArtikel", Integer),
    Column("cArtNr", Unicode(100)),
    Column("cName", Unicode(255)),
    Column("fAnzahl", JtlDecimal),
    Column("fVkNetto", JtlDecimal),
    Column("fMwSt", JtlDecimal),
    Column("fRabatt", JtlDecimal),
    Column("nType", Integer),
    Column("nSort", Integer),
    schema="Verkauf",
)

tLieferschein = Table(
    "tLieferschein",
    metadata,
    _key("kLieferschein", primary=True),
    Column("cLieferscheinNr", Unicode(50)),
    Column("kBestellung", Integer),
    Column("dErstellt", DateTime),
    schema="dbo",
)

tLieferscheinPos = Table(
    "tLieferscheinPos",
    metadata,
    _key("kLieferscheinPos", primary=True),
    Column("kLieferschein", Integer, nullable=False),
    Column("kBestellPos", Integer),
    Column("fAnzahl", JtlDecimal),
    schema="dbo",
)

tVersand = Table(
    "tVersand",
    metadata,
    _key("kVersand", primary=True),
    Column("kLieferschein", Integer, nullable=False),
    Column("cIdentCode", Unicode(255)),
    Column("cLogistiker", Unicode(50)),
    Column("kVersandArt", Integer),
    Column("dErstellt", DateTime),
    Column("dVersendet", DateTime),
    Column("fGewicht", JtlDecimal),
    Column("nStatus", Integer),
    schema="dbo",
)

tVersandPos = Table(
    "tVersandPos",
    metadata,
    Column("kVersand", Integer, primary_key=True, autoincrement=False),
    Column("kLieferscheinPos", Integer, primary_key=True, autoincrement=False),
    Column("fAnzahl", JtlDecimal),
    schema="dbo",
)

tversandart = Table(
    "tversandart",
    metadata,
    _key("kVersandArt", primary=True),
    Column("cName", Unicode(255)),
    Column("cAktiv", Unicode(1)),
    Column("cTrackingUrlTemplate", Unicode(255)),
    schema="dbo",
)

tkunde = Table(
    "tkunde",
    metadata,
    _key("kKunde", primary=True),
    Column("cKundenNr", Unicode(30)),
    Column("dErstellt", DateTime),
    schema="dbo",
)

tAdresse = Table(
    "tAdresse",
    metadata,
    _key("kAdresse", primary=True),
    Column("kKunde", Integer),
    Column("cFirma", Unicode(128)),
    Column("cVorname", Unicode(255)),
    Column("cName", Unicode(255)),
    Column("cStrasse", Unicode(255)),
    Column("cPLZ", Unicode(24)),
    Column("cOrt", Unicode(255)),
    Column("cISO", Unicode(5)),
    Column("cMail", Unicode(255)),
    Column("cTel", Unicode(30)),
    Column("nStandard", Integer),
    Column("nTyp", Integer),
    schema="dbo",
)

tversion = Table("tversion", metadata, Column("cVersion", Unicode(20)), schema="dbo")

TABLES: tuple[Table, ...] = tuple(metadata.tables.values())
"""Base tables, in creation order (the replica creates exactly these)."""

# --- views (read-only; the replica defines them over the tables above) ---

lvLieferschein = Table(
    "lvLieferschein",
    metadata,
    Column("kLieferschein", Integer),
    Column("cLieferscheinNr", Unicode(50)),
    Column("cBestellNr", Unicode(50)),
    Column("cBestellungInetBestellNr", Unicode(50)),
    Column("dErstellt", DateTime),
    Column("kVersandart", Integer),
    Column("nPlattform", Integer),
    schema="Versand",
)

lvLieferscheinpaket = Table(
    "lvLieferscheinpaket",
    metadata,
    Column("kLieferschein", Integer),
    Column("kInternePaketnummer", Integer),
    Column("cTrackingId", Unicode(255)),
    Column("cVersandartName", Unicode(255)),
    Column("dVerpackt", DateTime),
    Column("dVersendet", DateTime),
    Column("nStatus", Integer),
    schema="Versand",
)

lvKunde = Table(
    "lvKunde",
    metadata,
    Column("kKunde", Integer),
    Column("cKundenNr", Unicode(30)),
    Column("cEMail", Unicode(255)),
    Column("cVorname", Unicode(255)),
    Column("cName", Unicode(255)),
    schema="Kunde",
)

VIEWS: tuple[Table, ...] = (lvLieferschein, lvLieferscheinpaket, lvKunde)
