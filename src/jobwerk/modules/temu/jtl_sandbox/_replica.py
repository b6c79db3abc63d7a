"""A local eazybusiness replica as a SQLite file: the same object names, deterministic seed data.

It backs the demo and the tests. SQLite has no schemas, so `dbo.`, `Verkauf.`, … are mapped to
the one database (`create_jtl_engine`); the `Versand`/`Kunde` views are real SQL views over the
replica's tables, shaped like JTL's.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from jobwerk.modules.temu.jtl._database import create_jtl_engine
from jobwerk.modules.temu.jtl._queries import ROWVERSION_COUNTER
from jobwerk.modules.temu.jtl._schema import (
    ROWVERSION_TABLES,
    TABLES,
    metadata,
    tAdresse,
    tArtikel,
    tArtikelBeschreibung,
    tkunde,
    tlagerbestand,
    tlagerbestandProLagerLagerartikel,
    tversandart,
    tversion,
    tWarenLager,
)

REPLICA_VERSION = "1.9.6.0"
"""`dbo.tversion.cVersion` of the replica (a Wawi with the newer import-table columns)."""

WAREHOUSES: Mapping[int, str] = {1: "Hauptlager", 2: "Außenlager Süd"}
SHIPPING_METHODS: Mapping[int, str] = {
    1: "DHL Paket",
    2: "DPD Classic",
    3: "GLS Business Parcel",
    4: "Hermes Päckchen",
    5: "Selbstabholung",
}
FIRST_CUSTOMER_NUMBER = 10001

_VIEWS = (
    """CREATE VIEW lvLieferschein AS
    SELECT l.kLieferschein, l.cLieferscheinNr, a.cAuftragsNr AS cBestellNr,
           a.cExterneAuftragsnummer AS cBestellungInetBestellNr, l.dErstellt,
           a.kVersandArt AS kVersandart, a.kPlattform AS nPlattform
    FROM tLieferschein AS l LEFT JOIN tAuftrag AS a ON a.kAuftrag = l.kBestellung""",
    """CREATE VIEW lvLieferscheinpaket AS
    SELECT v.kLieferschein, v.kVersand AS kInternePaketnummer, v.cIdentCode AS cTrackingId,
           va.cName AS cVersandartName, v.dErstellt AS dVerpackt, v.dVersendet, v.nStatus
    FROM tVersand AS v LEFT JOIN tversandart AS va ON va.kVersandArt = v.kVersandArt""",
    """CREATE VIEW lvKunde AS
    SELECT k.kKunde, k.cKundenNr, ad.cMail AS cEMail, ad.cVorname, ad.cName
    FROM tkunde AS k LEFT JOIN tAdresse AS ad ON ad.kKunde = k.kKunde AND ad.nStandard = 1""",
)

_NOUNS = ("Küchenwaage", "Gießkanne", "Fußmatte", "Türstopper", "Schlüsselbrett", "Öko-Tasche")
_COLOURS = ("weiß", "grün", "blau", "rot", "schwarz", "größe XL")


@dataclass(frozen=True, slots=True)
class ReplicaArticle:
    """One article of the replica with its stock per warehouse (`kWarenLager` → quantity)."""

    sku: str
    name: str
    stock: Mapping[int, Decimal] = field(default_factory=dict)
    buffer: int = 0
    ean: str | None = None
    net_price: Decimal = Decimal("10.00")
    locked: Mapping[int, Decimal] = field(default_factory=dict)
    is_parent: bool = False


def _ean13(number: int) -> str:
    digits = f"400{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def generate_articles(count: int, *, seed: int = 0) -> list[ReplicaArticle]:
    """`count` articles `ART-100000…` with German names, EANs, buffers and stock in two lagers."""
    rng = random.Random(seed)
    articles = []
    for i in range(count):
        name = f"{_NOUNS[i % len(_NOUNS)]} {_COLOURS[(i // len(_NOUNS)) % len(_COLOURS)]}"
        stock = {lager: Decimal(rng.randint(0, 40)) for lager in WAREHOUSES}
        articles.append(
            ReplicaArticle(
                sku=f"ART-{100000 + i}",
                name=name,
                stock=stock,
                buffer=rng.choice((0, 0, 1, 2)),
                ean=_ean13(i),
                net_price=Decimal(rng.randint(199, 9999)) / 100,
            )
        )
    return articles


def create_replica(
    path: str | PathLike[str],
    articles: Sequence[ReplicaArticle] | None = None,
    *,
    article_count: int = 50,
    seed: int = 0,
    customer_emails: Sequence[str] = (),
) -> str:
    """Create (or replace) a replica database file and seed it; return its SQLAlchemy URL.

    Args:
        path: the SQLite file.
        articles: the articles to seed; default `generate_articles(article_count, seed=seed)`.
        article_count: how many articles to generate when `articles` is not given.
        seed: seed of the generated data (same seed, same database).
        customer_emails: existing customers to create, numbered from 10001.
    """
    file = Path(path)
    file.unlink(missing_ok=True)
    url = f"sqlite:///{file}"
    engine = create_jtl_engine(url)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn, tables=list(TABLES))
            for view in _VIEWS:
                conn.execute(text(view))
            _seed_reference_data(conn)
            _seed_articles(
                conn, generate_articles(article_count, seed=seed) if articles is None else articles
            )
            for email in customer_emails:
                create_customer(conn, email=email, first_name="", last_name="")
            _maintain_rowversions(conn)
    finally:
        engine.dispose()
    return url


def _maintain_rowversions(conn: Connection) -> None:
    """Give the stock tables SQL Server's `rowversion` behaviour: every insert or update of a row
    sets its `bRowversion` to the next value of one database-wide counter. The seeded rows keep
    0 (older than anything a watcher has seen)."""
    conn.execute(text(f"CREATE TABLE {ROWVERSION_COUNTER} (value INTEGER NOT NULL)"))
    conn.execute(text(f"INSERT INTO {ROWVERSION_COUNTER} (value) VALUES (0)"))
    for table in ROWVERSION_TABLES:
        name = table.name
        conn.execute(text(f'UPDATE "{name}" SET bRowversion = 0'))
        conn.execute(text(f'CREATE INDEX "ix_{name}_bRowversion" ON "{name}" (bRowversion)'))
        bump = (
            f"BEGIN UPDATE {ROWVERSION_COUNTER} SET value = value + 1; "
            f'UPDATE "{name}" SET bRowversion = (SELECT value FROM {ROWVERSION_COUNTER}) '
            "WHERE rowid = NEW.rowid; END"
        )
        conn.execute(text(f'CREATE TRIGGER "rv_{name}_insert" AFTER INSERT ON "{name}" {bump}'))
        # Not for the trigger's own update of the column (SQLite runs no trigger recursively).
        conn.execute(
            text(
                f'CREATE TRIGGER "rv_{name}_update" AFTER UPDATE ON "{name}" '
                f"WHEN NEW.bRowversion IS OLD.bRowversion {bump}"
            )
        )


def _seed_reference_data(conn: Connection) -> None:
    conn.execute(insert(tversion).values(cVersion=REPLICA_VERSION))
    conn.execute(
        insert(tWarenLager),
        [
            {"kWarenLager": k, "cName": n, "cKuerzel": f"L{k}", "nAktiv": 1}
            for k, n in WAREHOUSES.items()
        ],
    )
    conn.execute(
        insert(tversandart),
        [{"kVersandArt": k, "cName": n, "cAktiv": "Y"} for k, n in SHIPPING_METHODS.items()],
    )


def _seed_articles(conn: Connection, articles: Sequence[ReplicaArticle]) -> None:
    if not articles:
        return
    rows: list[dict[str, Any]] = []
    names: list[dict[str, Any]] = []
    per_lager: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    for k, article in enumerate(articles, start=1):
        rows.append(
            {
                "kArtikel": k,
                "cArtNr": article.sku,
                "cBarcode": article.ean,
                "cAktiv": "Y",
                "nDelete": 0,
                "nIstVater": int(article.is_parent),
                "cLagerArtikel": "Y",
                "cLagerKleinerNull": "N",
                "nPuffer": article.buffer,
                "nPufferTyp": 0,
                "fVKNetto": article.net_price,
                "kSteuerklasse": 1,
            }
        )
        names.append(
            {"kArtikel": k, "kSprache": 1, "kPlattform": 1, "kShop": 0, "cName": article.name}
        )
        for lager, quantity in article.stock.items():
            locked = article.locked.get(lager, Decimal(0))
            per_lager.append(
                {
                    "kArtikel": k,
                    "kWarenlager": lager,
                    "fBestand": quantity,
                    "fVerfuegbarGesperrt": locked,
                }
            )
        total = sum(article.stock.values(), Decimal(0))
        locked_total = sum(article.locked.values(), Decimal(0))
        totals.append(
            {
                "kArtikel": k,
                "fLagerbestand": total,
                "fInAuftraegen": Decimal(0),
                "fVerfuegbar": total - locked_total,
                "fVerfuegbarGesperrt": locked_total,
            }
        )
    conn.execute(insert(tArtikel), rows)
    conn.execute(insert(tArtikelBeschreibung), names)
    if per_lager:
        conn.execute(insert(tlagerbestandProLagerLagerartikel), per_lager)
    conn.execute(insert(tlagerbestand), totals)


def create_customer(
    conn: Connection,
    *,
    email: str,
    first_name: str,
    last_name: str,
    customer_number: str | None = None,
) -> tuple[int, str]:
    """Create a customer with a default address in the replica; return `(kKunde, cKundenNr)`."""
    if customer_number is None:
        highest = conn.execute(select(func.count()).select_from(tkunde)).scalar_one()
        customer_number = str(FIRST_CUSTOMER_NUMBER + highest)
    now = datetime.now().replace(microsecond=0)
    result = conn.execute(insert(tkunde).values(cKundenNr=customer_number, dErstellt=now))
    customer_id = int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0
    conn.execute(
        insert(tAdresse).values(
            kKunde=customer_id,
            cMail=email,
            cVorname=first_name,
            cName=last_name,
            nStandard=1,
            nTyp=1,
        )
    )
    return customer_id, customer_number


def set_stock(conn: Connection, article_id: int, warehouse_id: int, quantity: Decimal) -> None:
    """Set one warehouse's stock of an article and recompute the article's aggregate row."""
    per_lager = tlagerbestandProLagerLagerartikel
    conn.execute(
        update(per_lager)
        .where(per_lager.c.kArtikel == article_id, per_lager.c.kWarenlager == warehouse_id)
        .values(fBestand=quantity)
    )
    refresh_aggregate_stock(conn, article_id)


def refresh_aggregate_stock(conn: Connection, article_id: int) -> None:
    """Recompute `dbo.tlagerbestand` of one article from its warehouses and reservations."""
    per_lager = tlagerbestandProLagerLagerartikel
    physical, locked = conn.execute(
        select(
            func.coalesce(func.sum(per_lager.c.fBestand), 0),
            func.coalesce(func.sum(per_lager.c.fVerfuegbarGesperrt), 0),
        ).where(per_lager.c.kArtikel == article_id)
    ).one()
    reserved = conn.execute(
        select(tlagerbestand.c.fInAuftraegen).where(tlagerbestand.c.kArtikel == article_id)
    ).scalar_one()
    physical, locked = Decimal(str(physical)), Decimal(str(locked))
    conn.execute(
        update(tlagerbestand)
        .where(tlagerbestand.c.kArtikel == article_id)
        .values(
            fLagerbestand=physical,
            fVerfuegbarGesperrt=locked,
            fVerfuegbar=physical - locked - (reserved or Decimal(0)),
        )
    )
