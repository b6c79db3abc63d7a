"""A simulated JTL-Worker for the replica: imports queued order XML, later ships the orders.

It does in the replica what Wawi does in a real eazybusiness database: parse `cText` of each
unprocessed `dbo.tXMLBestellImport` row, create the customer and the `Verkauf.tAuftrag` with its
positions (reserving stock), stamp `dZugelesen`/`cFehlerText`; on `ship`, create the delivery note
and packages with tracking numbers and book the stock out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from lxml import etree
from sqlalchemy import Connection, func, insert, select, update

from jobwerk.modules.temu.jtl._database import create_jtl_engine
from jobwerk.modules.temu.jtl._schema import (
    lvKunde,
    tArtikel,
    tAuftrag,
    tAuftragPosition,
    tlagerbestand,
    tlagerbestandProLagerLagerartikel,
    tLieferschein,
    tLieferscheinPos,
    tVersand,
    tversandart,
    tVersandPos,
    tXMLBestellImport,
)
from jobwerk.modules.temu.jtl_sandbox._replica import create_customer, refresh_aggregate_stock

POSITION_ITEM = 1
POSITION_SHIPPING = 2

_TRACKING_FORMATS = (
    ("dhl", "003404341", 20),
    ("dpd", "0", 14),
    ("gls", "", 12),
    ("hermes", "H", 16),
)
_NO_TRACKING = ("abholung", "pickup", "spedition")


@dataclass(frozen=True, slots=True)
class WorkerImport:
    """Result of importing one queued row."""

    import_id: int
    external_order_number: str | None
    order_id: int | None
    order_number: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class WorkerPackage:
    """One package the simulated shipping created."""

    package_id: int
    tracking_number: str
    carrier: str


@dataclass(frozen=True, slots=True)
class WorkerShipment:
    """A shipped order: its delivery note and packages."""

    external_order_number: str
    order_number: str
    delivery_note_number: str
    packages: tuple[WorkerPackage, ...]


class ImportRejected(Exception):
    """The XML of a queued row cannot become an order; the text goes to `cFehlerText`."""


def tracking_number_for(carrier: str, package_id: int) -> str:
    """A deterministic carrier-shaped tracking number; empty for pick-up (no tracking)."""
    name = carrier.casefold()
    if any(word in name for word in _NO_TRACKING):
        return ""
    for keyword, prefix, length in _TRACKING_FORMATS:
        if keyword in name:
            return prefix + str(package_id).zfill(length - len(prefix))
    return "JW" + str(package_id).zfill(18)


def _text(element: etree._Element, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _decimal(element: etree._Element, tag: str) -> Decimal:
    value = _text(element, tag)
    return Decimal(value) if value else Decimal(0)


def insert_order(conn: Connection, **values: Any) -> tuple[int, str]:
    """Insert a `Verkauf.tAuftrag` row numbered like Wawi does; returns its id and number."""
    row = {"kPlattform": 1, "nStorno": 0, "nKomplettAusgeliefert": 0, **values}
    result = conn.execute(insert(tAuftrag).values(dErstelltWawi=row["dErstellt"], **row))
    order_id = int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0
    order_number = f"AU{10000 + order_id}"
    conn.execute(
        update(tAuftrag).where(tAuftrag.c.kAuftrag == order_id).values(cAuftragsNr=order_number)
    )
    return order_id, order_number


class JtlWorkerSimulator:
    """Imports and ships orders in a replica created by `create_replica`.

    Args:
        url: the replica's SQLAlchemy URL.
        warehouse_id: the `kWarenLager` orders are delivered from.
    """

    def __init__(self, url: str, *, warehouse_id: int = 1) -> None:
        self.engine = create_jtl_engine(url)
        self.warehouse_id = warehouse_id

    async def close(self) -> None:
        """Close the worker's connections."""
        await asyncio.to_thread(self.engine.dispose)

    async def import_pending(self) -> list[WorkerImport]:
        """Import every unprocessed row of `dbo.tXMLBestellImport`, one transaction per row."""
        return await asyncio.to_thread(self._import_pending)

    async def ship(
        self,
        external_order_numbers: Iterable[str] | None = None,
        *,
        packages: int = 1,
        methods: Sequence[int] = (),
    ) -> list[WorkerShipment]:
        """Ship imported, unshipped orders (all, or the given ones) in `packages` parcels each;
        parcel i goes with shipping method `methods[i]` when given (else the order's)."""
        numbers = None if external_order_numbers is None else list(external_order_numbers)
        return await asyncio.to_thread(self._ship, numbers, max(packages, 1), tuple(methods))

    def _import_pending(self) -> list[WorkerImport]:
        imp = tXMLBestellImport
        with self.engine.connect() as conn:
            pending = conn.execute(
                select(imp.c.kXMLBestellImport, imp.c.cText)
                .where(imp.c.dZugelesen.is_(None))
                .order_by(imp.c.kXMLBestellImport)
            ).all()
        results = []
        for row in pending:
            with self.engine.begin() as conn:
                results.append(self._import_row(conn, row.kXMLBestellImport, row.cText or ""))
        return results

    def _import_row(self, conn: Connection, import_id: int, xml: str) -> WorkerImport:
        now = datetime.now().replace(microsecond=0)
        number: str | None = None
        try:
            root = etree.fromstring(xml.encode("iso-8859-1"))
            order = root.find("tBestellung")
            if root.tag != "tBestellungen" or order is None:
                raise ImportRejected("kein <tBestellungen>/<tBestellung> gefunden")
            number = _text(order, "cExterneBestellNr") or None
            order_id, order_number = self._create_order(conn, order, number, now)
        except (ImportRejected, etree.XMLSyntaxError, UnicodeEncodeError, ArithmeticError) as exc:
            conn.execute(
                update(tXMLBestellImport)
                .where(tXMLBestellImport.c.kXMLBestellImport == import_id)
                .values(dZugelesen=now, cFehlerText=str(exc) or type(exc).__name__)
            )
            return WorkerImport(import_id, number, None, None, str(exc))
        conn.execute(
            update(tXMLBestellImport)
            .where(tXMLBestellImport.c.kXMLBestellImport == import_id)
            .values(dZugelesen=now)
        )
        return WorkerImport(import_id, number, order_id, order_number, None)

    def _create_order(
        self, conn: Connection, order: etree._Element, number: str | None, now: datetime
    ) -> tuple[int, str]:
        if (
            number
            and conn.execute(
                select(tAuftrag.c.kAuftrag).where(tAuftrag.c.cExterneAuftragsnummer == number)
            ).first()
        ):
            raise ImportRejected(f"Auftrag mit externer Nummer {number} existiert bereits")
        positions = [self._position(conn, pos) for pos in order.findall("twarenkorbpos")]
        if not any(p["nType"] == POSITION_ITEM for p in positions):
            raise ImportRejected("Auftrag ohne Artikelposition")
        customer_id, customer_number = self._customer(conn, order)
        shipping_method = conn.execute(
            select(tversandart.c.kVersandArt).where(
                tversandart.c.cName == _text(order, "cVersandartName")
            )
        ).scalar()
        delivery = order.find("tlieferadresse")
        order_id, order_number = insert_order(
            conn,
            cExterneAuftragsnummer=number,
            kKunde=customer_id,
            cKundenNr=customer_number,
            kVersandArt=shipping_method,
            kWarenlager=self.warehouse_id,
            cWaehrung=_text(order, "cWaehrung") or "EUR",
            cVersandlandISO=_text(delivery, "cLand") if delivery is not None else None,
            dErstellt=now,
        )
        for sort, position in enumerate(positions, start=1):
            conn.execute(insert(tAuftragPosition).values(kAuftrag=order_id, nSort=sort, **position))
            if position["kArtikel"]:
                self.book(conn, position["kArtikel"], reserved=position["fAnzahl"])
        return order_id, order_number

    def _position(self, conn: Connection, pos: etree._Element) -> dict[str, Any]:
        kind = POSITION_SHIPPING if _text(pos, "cPosTyp") == "versandkosten" else POSITION_ITEM
        sku = _text(pos, "cArtNr")
        article_id = None
        if kind == POSITION_ITEM:
            article_id = conn.execute(
                select(tArtikel.c.kArtikel).where(tArtikel.c.cArtNr == sku, tArtikel.c.nDelete == 0)
            ).scalar()
            if article_id is None:
                raise ImportRejected(f"Artikel {sku!r} nicht gefunden")
        return {
            "kArtikel": article_id,
            "cArtNr": sku or None,
            "cName": _text(pos, "cName"),
            "fAnzahl": _decimal(pos, "fAnzahl"),
            "fVkNetto": _decimal(pos, "fPreisEinzelNetto"),
            "fMwSt": _decimal(pos, "fMwSt"),
            "fRabatt": _decimal(pos, "fRabatt"),
            "nType": kind,
        }

    def _customer(self, conn: Connection, order: etree._Element) -> tuple[int, str]:
        customer = order.find("tkunde")
        if customer is None:
            raise ImportRejected("kein <tkunde>")
        number = _text(customer, "cKundenNr")
        if number:
            found = conn.execute(
                select(lvKunde.c.kKunde).where(lvKunde.c.cKundenNr == number)
            ).scalar()
            if found is None:
                raise ImportRejected(f"Kundennummer {number} nicht gefunden")
            return int(found), number
        return create_customer(
            conn,
            email=_text(customer, "cMail"),
            first_name=_text(customer, "cVorname"),
            last_name=_text(customer, "cNachname"),
        )

    def book(
        self,
        conn: Connection,
        article_id: int,
        *,
        reserved: Decimal = Decimal(0),
        shipped: Decimal = Decimal(0),
    ) -> None:
        conn.execute(
            update(tlagerbestand)
            .where(tlagerbestand.c.kArtikel == article_id)
            .values(
                fInAuftraegen=func.coalesce(tlagerbestand.c.fInAuftraegen, 0) + reserved - shipped
            )
        )
        if shipped:
            per_lager = tlagerbestandProLagerLagerartikel
            conn.execute(
                update(per_lager)
                .where(
                    per_lager.c.kArtikel == article_id, per_lager.c.kWarenlager == self.warehouse_id
                )
                .values(fBestand=per_lager.c.fBestand - shipped)
            )
        refresh_aggregate_stock(conn, article_id)

    def _ship(
        self, numbers: list[str] | None, packages: int, methods: tuple[int, ...]
    ) -> list[WorkerShipment]:
        stmt = select(tAuftrag).where(
            tAuftrag.c.nKomplettAusgeliefert == 0, tAuftrag.c.nStorno == 0
        )
        if numbers is not None:
            stmt = stmt.where(tAuftrag.c.cExterneAuftragsnummer.in_(numbers))
        shipments = []
        with self.engine.begin() as conn:
            for order in conn.execute(stmt.order_by(tAuftrag.c.kAuftrag)).all():
                shipments.append(self._ship_order(conn, order, packages, methods))
        return shipments

    def _ship_order(
        self, conn: Connection, order: Any, packages: int, methods: tuple[int, ...]
    ) -> WorkerShipment:
        now = datetime.now().replace(microsecond=0)
        note_count = conn.execute(
            select(func.count()).where(tLieferschein.c.kBestellung == order.kAuftrag)
        ).scalar_one()
        note_number = f"{order.cAuftragsNr}-{note_count + 1:03d}"
        note = conn.execute(
            insert(tLieferschein).values(
                cLieferscheinNr=note_number, kBestellung=order.kAuftrag, dErstellt=now
            )
        ).inserted_primary_key
        note_id = int(note[0]) if note else 0
        lines = conn.execute(
            select(tAuftragPosition).where(
                tAuftragPosition.c.kAuftrag == order.kAuftrag,
                tAuftragPosition.c.nType == POSITION_ITEM,
            )
        ).all()
        note_lines = []
        for line in lines:
            key = conn.execute(
                insert(tLieferscheinPos).values(
                    kLieferschein=note_id, kBestellPos=line.kAuftragPosition, fAnzahl=line.fAnzahl
                )
            ).inserted_primary_key
            note_lines.append((int(key[0]) if key else 0, line.fAnzahl))
            self.book(conn, line.kArtikel, shipped=line.fAnzahl)
        created = []
        for index in range(packages):
            method_id = methods[index % len(methods)] if methods else order.kVersandArt or 1
            carrier = conn.execute(
                select(tversandart.c.cName).where(tversandart.c.kVersandArt == method_id)
            ).scalar_one()
            package = conn.execute(
                insert(tVersand).values(
                    kLieferschein=note_id,
                    kVersandArt=method_id,
                    dErstellt=now,
                    dVersendet=now,
                    nStatus=1,
                )
            ).inserted_primary_key
            package_id = int(package[0]) if package else 0
            tracking = tracking_number_for(carrier, package_id)
            conn.execute(
                update(tVersand)
                .where(tVersand.c.kVersand == package_id)
                .values(cIdentCode=tracking)
            )
            for position, (line_id, quantity) in enumerate(note_lines):
                if position % packages == index:
                    conn.execute(
                        insert(tVersandPos).values(
                            kVersand=package_id, kLieferscheinPos=line_id, fAnzahl=quantity
                        )
                    )
            created.append(WorkerPackage(package_id, tracking, carrier))
        conn.execute(
            update(tAuftrag)
            .where(tAuftrag.c.kAuftrag == order.kAuftrag)
            .values(nKomplettAusgeliefert=1)
        )
        return WorkerShipment(
            order.cExterneAuftragsnummer or "", order.cAuftragsNr, note_number, tuple(created)
        )
