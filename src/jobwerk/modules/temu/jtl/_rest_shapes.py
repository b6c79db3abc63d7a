"""The JTL-Wawi REST API's shapes for its sandbox: paged lists, and replica rows as the API's
PascalCase objects."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Connection, Select, func, select

from jobwerk.modules.temu.jtl._schema import tArtikel, tVersand

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Paging:
    number: int
    size: int


def _paging(
    pageNumber: Annotated[int, Query(ge=1)] = 1,
    pageSize: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> Paging:
    return Paging(pageNumber, pageSize)


Page = Annotated[Paging, Depends(_paging)]


def page_of(conn: Connection, query: Select[Any], page: Paging) -> tuple[list[Any], int]:
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.offset((page.number - 1) * page.size).limit(page.size)).all()
    return list(rows), int(total)


def paged(items: list[dict[str, Any]], total: int, page: Paging) -> dict[str, Any]:
    pages = max(math.ceil(total / page.size), 1)
    following = page.number < pages
    return {
        "Items": items,
        "TotalItems": total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "TotalPages": pages,
        "HasPreviousPage": page.number > 1,
        "HasNextPage": following,
        "NextPageNumber": page.number + 1 if following else page.number,
        "PreviousPageNumber": max(page.number - 1, 1),
    }


def children(conn: Connection, ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    if ids:
        rows = conn.execute(
            select(tArtikel.c.kArtikel, tArtikel.c.kVaterArtikel).where(
                tArtikel.c.kVaterArtikel.in_(ids)
            )
        )
        for child, parent in rows:
            found.setdefault(parent, []).append(child)
    return found


def packages(conn: Connection, note_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(tVersand).where(tVersand.c.kLieferschein == note_id).order_by(tVersand.c.kVersand)
    )
    return [{"Id": r.kVersand, "PackageDate": time_text(r.dErstellt), "TrackingID": r.cIdentCode,
             "TrackingUrl": "", "Weights": as_number(r.fGewicht), "ShippingMethodId": r.kVersandArt,
             "ShippedDate": time_text(r.dVersendet), "Comment": ""} for r in rows]  # fmt: skip


def order_json(row: Any) -> dict[str, Any]:
    return {
        "Id": row.kAuftrag,
        "Number": row.cAuftragsNr,
        "ExternalNumber": row.cExterneAuftragsnummer,
        "CompanyId": 1,
        "CustomerId": row.kKunde,
        "SalesOrderDate": time_text(row.dErstellt),
        "SalesOrderShippingDetail": {
            "ShippingMethodId": row.kVersandArt,
            "DeliveryCompleteStatus": 1 if row.nKomplettAusgeliefert else 0,
        },
        "IsCancelled": bool(row.nStorno),
    }


def position_json(row: Any) -> dict[str, Any]:
    return {
        "Id": row.kAuftragPosition,
        "ItemId": row.kArtikel,
        "SKU": row.cArtNr,
        "Name": row.cName,
        "Type": row.nType,
        "Quantity": as_number(row.fAnzahl),
        "SalesPriceNet": as_number(row.fVkNetto),
        "SalesPriceGross": round(as_number(row.fVkNetto) * (1 + as_number(row.fMwSt) / 100), 2),
        "TaxRate": as_number(row.fMwSt),
        "QuantityDelivered": 0,
    }


def as_number(value: Decimal | None) -> float:
    return float(value or 0)


def time_text(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() if value else None


def now() -> str:
    return datetime.now().replace(microsecond=0).isoformat()
