"""A JTL-Wawi REST API (1.0, on-premise) over a replica eazybusiness database.

It answers the calls the `rest` backend makes, in the API's shapes (PascalCase, paged lists,
`ErrorResponse`), checks the `Wawi <key>` authorisation and the app headers, and writes what
Wawi would: orders and their positions, with stock reserved. The simulated JTL-Worker ships
those orders like imported ones. Faults can be injected per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection, func, select, update

from jobwerk.modules.temu.jtl._rest_shapes import (
    Page,
    as_number,
    children,
    now,
    order_json,
    packages,
    page_of,
    paged,
    position_json,
    time_text,
)
from jobwerk.modules.temu.jtl._schema import (
    tArtikel,
    tArtikelBeschreibung,
    tAuftrag,
    tAuftragPosition,
    tkunde,
    tlagerbestandProLagerLagerartikel,
    tLieferschein,
    tversandart,
    tversion,
)
from jobwerk.modules.temu.jtl_sandbox._worker import (
    POSITION_ITEM,
    JtlWorkerSimulator,
    insert_order,
)

DEFAULT_KEY = "sandbox-wawi-key"
CANCELLATION_REASONS = {1: "Kunde hat storniert", 2: "Artikel nicht lieferbar"}


class WawiRefusal(Exception):
    """An answer in the API's `ErrorResponse` shape (401 and 402 come without a body)."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"ErrorCode": str(status), "ErrorMessage": message, "ValidationErrors": errors}


class JtlRestSandbox:
    """The API over the replica at ``replica_url``.

    Args:
        replica_url: a replica made by `create_replica`.
        api_key: the key clients must send as ``Authorization: Wawi <key>``.
        tenant: the Mandant; the API answers under ``/api/<tenant>/``.
        warehouse_id: the warehouse orders reserve stock in.
    """

    def __init__(
        self,
        replica_url: str,
        *,
        api_key: str = DEFAULT_KEY,
        tenant: str = "eazybusiness",
        warehouse_id: int = 1,
    ) -> None:
        self.worker = JtlWorkerSimulator(replica_url, warehouse_id=warehouse_id)
        self.api_key = api_key
        self.prefix = f"/api/{tenant}"
        self.requests = 0
        self._faults: dict[str, int] = {}

    def fail(self, operation: str, count: int = 1) -> None:
        """Answer ``operation`` (e.g. ``"POST /salesOrders/{salesOrderId}/lineitems"``) with a
        500 the next ``count`` times."""
        self._faults[operation] = count

    def close(self) -> None:
        self.worker.engine.dispose()

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[Connection]:
        with self.worker.engine.begin() if write else self.worker.engine.connect() as conn:
            yield conn

    def _check(
        self,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        x_appid: Annotated[str | None, Header()] = None,
        x_appversion: Annotated[str | None, Header()] = None,
    ) -> None:
        self.requests += 1
        if authorization != f"Wawi {self.api_key}":
            raise WawiRefusal(401, "Unauthorized")
        if not x_appid or not x_appversion:
            raise WawiRefusal(400, "The headers x-appid and x-appversion are required")
        route = request.scope.get("route")
        path = getattr(route, "path", request.url.path).removeprefix(self.prefix)
        operation = f"{request.method} {path}"
        if self._faults.get(operation, 0) > 0:
            self._faults[operation] -= 1
            raise WawiRefusal(500, f"injected fault: {operation}")

    def app(self) -> FastAPI:
        """The ASGI app (serve it with `ThreadedServer`)."""
        app = FastAPI(title="JTL-Wawi REST API sandbox")
        api = APIRouter(prefix=self.prefix)
        auth = [Depends(self._check)]

        @app.exception_handler(WawiRefusal)
        async def refused(request: Request, exc: WawiRefusal) -> Response:
            if exc.status in (401, 402):
                return Response(status_code=exc.status)
            return JSONResponse(exc.body, exc.status)

        @api.get("/info")
        def info() -> dict[str, Any]:
            with self._connect() as conn:
                version = conn.execute(select(tversion.c.cVersion)).scalar()
            return {"Version": version, "Timestamp": now(), "Tenant": "eazybusiness",
                    "Type": "WAWI-Api"}  # fmt: skip

        @api.get("/shippingMethods", dependencies=auth)
        def shipping_methods() -> list[dict[str, Any]]:
            with self._connect() as conn:
                rows = conn.execute(select(tversandart).order_by(tversandart.c.kVersandArt))
                return [{"Id": r.kVersandArt, "Name": r.cName, "Priority": 0} for r in rows]

        @api.get("/items", dependencies=auth)
        def items(page: Page) -> dict[str, Any]:
            name = (
                select(tArtikelBeschreibung.c.cName)
                .where(tArtikelBeschreibung.c.kArtikel == tArtikel.c.kArtikel)
                .limit(1)
                .scalar_subquery()
            )
            query = (
                select(tArtikel, name.label("cName"))
                .where(tArtikel.c.nDelete == 0)
                .order_by(tArtikel.c.kArtikel)
            )
            with self._connect() as conn:
                rows, total = page_of(conn, query, page)
                kids = children(conn, [row.kArtikel for row in rows])
            return paged(
                [{"Id": r.kArtikel, "SKU": r.cArtNr, "Name": r.cName,
                  "IsActive": r.cAktiv == "Y", "ParentItemId": r.kVaterArtikel,
                  "ChildItems": kids.get(r.kArtikel, [])} for r in rows],
                total, page,
            )  # fmt: skip

        @api.get("/stocks", dependencies=auth)
        def stocks(
            page: Page, itemId: int | None = None, warehouseId: int | None = None
        ) -> dict[str, Any]:
            stock = tlagerbestandProLagerLagerartikel
            query = select(stock).order_by(stock.c.kArtikel, stock.c.kWarenlager)
            if itemId is not None:
                query = query.where(stock.c.kArtikel == itemId)
            if warehouseId is not None:
                query = query.where(stock.c.kWarenlager == warehouseId)
            with self._connect() as conn:
                rows, total = page_of(conn, query, page)
            return paged(
                [{"WarehouseId": r.kWarenlager, "ItemId": r.kArtikel,
                  "QuantityTotal": as_number(r.fBestand),
                  "QuantityLockedForShipment": as_number(r.fAuslieferungGesperrt),
                  "QuantityLockedForAvailability": as_number(r.fVerfuegbarGesperrt),
                  "QuantityInPickingLists": 0} for r in rows],
                total, page,
            )  # fmt: skip

        @api.get("/salesOrders", dependencies=auth)
        def sales_orders(
            page: Page,
            externalOrderNumber: str | None = None,
            salesOrderNumber: str | None = None,
        ) -> dict[str, Any]:
            query = select(tAuftrag).order_by(tAuftrag.c.kAuftrag)
            if externalOrderNumber is not None:
                query = query.where(tAuftrag.c.cExterneAuftragsnummer == externalOrderNumber)
            if salesOrderNumber is not None:
                query = query.where(tAuftrag.c.cAuftragsNr == salesOrderNumber)
            with self._connect() as conn:
                rows, total = page_of(conn, query, page)
            return paged([order_json(row) for row in rows], total, page)

        @api.post("/salesOrders", dependencies=auth, status_code=201)
        def create_sales_order(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
            return self._create_order(body)

        @api.get("/salesOrders/cancellationReasons", dependencies=auth)
        def cancellation_reasons() -> list[dict[str, Any]]:
            return [{"Id": id_, "Name": name, "IsCommentRequired": False}
                    for id_, name in CANCELLATION_REASONS.items()]  # fmt: skip

        @api.post("/salesOrders/{salesOrderId}/cancel", dependencies=auth, status_code=204)
        def cancel_sales_order(
            salesOrderId: int, body: Annotated[dict[str, Any], Body()]
        ) -> Response:
            self._cancel(salesOrderId, body)
            return Response(status_code=204)

        @api.get("/salesOrders/{salesOrderId}/lineitems", dependencies=auth)
        def line_items(salesOrderId: int) -> list[dict[str, Any]]:
            with self._connect() as conn:
                self._order_row(conn, salesOrderId)
                rows = conn.execute(
                    select(tAuftragPosition)
                    .where(tAuftragPosition.c.kAuftrag == salesOrderId)
                    .order_by(tAuftragPosition.c.nSort)
                )
                return [position_json(row) for row in rows]

        @api.post("/salesOrders/{salesOrderId}/lineitems", dependencies=auth, status_code=201)
        def add_line_items(
            salesOrderId: int, body: Annotated[list[dict[str, Any]], Body()]
        ) -> list[dict[str, Any]]:
            return self._add_lines(salesOrderId, body)

        @api.get("/deliveryNotes", dependencies=auth)
        def delivery_notes(page: Page, salesOrderNumber: str | None = None) -> dict[str, Any]:
            query = (
                select(tLieferschein, tAuftrag.c.cAuftragsNr)
                .join(tAuftrag, tAuftrag.c.kAuftrag == tLieferschein.c.kBestellung)
                .order_by(tLieferschein.c.kLieferschein)
            )
            if salesOrderNumber is not None:
                query = query.where(tAuftrag.c.cAuftragsNr == salesOrderNumber)
            with self._connect() as conn:
                rows, total = page_of(conn, query, page)
                notes = [
                    {"Id": r.kLieferschein, "Number": r.cLieferscheinNr,
                     "DeliveryNoteDate": time_text(r.dErstellt),
                     "Packages": packages(conn, r.kLieferschein)}
                    for r in rows
                ]  # fmt: skip
            return paged(notes, total, page)

        app.include_router(api)
        return app

    def _order_row(self, conn: Connection, order_id: int) -> Any:
        row = conn.execute(select(tAuftrag).where(tAuftrag.c.kAuftrag == order_id)).first()
        if row is None:
            raise WawiRefusal(404, f"SalesOrder {order_id} not found")
        return row

    def _create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        missing = {
            name: f"The {name} field is required."
            for name in ("CompanyId", "CustomerId")
            if not isinstance(body.get(name), int)
        }
        for kind in ("BillingAddress", "Shipmentaddress"):
            for name in ("City", "CountryIso"):
                if kind in body and not (body[kind] or {}).get(name):
                    missing[f"{kind}.{name}"] = f"The {name} field is required."
        if missing:
            raise WawiRefusal(400, "Validation failed", missing)
        shipping = (body.get("SalesOrderShippingDetail") or {}).get("ShippingMethodId")
        with self._connect(write=True) as conn:
            customer = conn.execute(
                select(tkunde.c.cKundenNr).where(tkunde.c.kKunde == body["CustomerId"])
            ).first()
            if customer is None:
                raise WawiRefusal(400, f"Customer {body['CustomerId']} not found")
            if (
                shipping is not None
                and not conn.execute(
                    select(tversandart.c.kVersandArt).where(tversandart.c.kVersandArt == shipping)
                ).first()
            ):
                raise WawiRefusal(400, f"ShippingMethod {shipping} not found")
            address = body.get("Shipmentaddress") or {}
            order_id, _ = insert_order(
                conn,
                cExterneAuftragsnummer=body.get("ExternalNumber"),
                kKunde=body["CustomerId"],
                cKundenNr=customer.cKundenNr,
                kVersandArt=shipping,
                kWarenlager=self.worker.warehouse_id,
                cWaehrung=(body.get("SalesOrderPaymentDetails") or {}).get("CurrencyIso", "EUR"),
                cVersandlandISO=address.get("CountryIso"),
                dErstellt=datetime.now().replace(microsecond=0),
            )
            return order_json(self._order_row(conn, order_id))

    def _cancel(self, order_id: int, body: dict[str, Any]) -> None:
        if body.get("CancellationReasonId") not in CANCELLATION_REASONS:
            raise WawiRefusal(
                400, "Validation failed", {"CancellationReasonId": "Unknown cancellation reason."}
            )
        with self._connect(write=True) as conn:
            order = self._order_row(conn, order_id)
            if order.nKomplettAusgeliefert or order.nStorno:
                raise WawiRefusal(406, "The sales order cannot be cancelled.")
            lines = conn.execute(
                select(tAuftragPosition.c.kArtikel, tAuftragPosition.c.fAnzahl).where(
                    tAuftragPosition.c.kAuftrag == order_id,
                    tAuftragPosition.c.kArtikel.is_not(None),
                )
            ).all()
            for article, quantity in lines:  # the reservation goes back to free stock
                self.worker.book(conn, article, reserved=-quantity)
            conn.execute(update(tAuftrag).where(tAuftrag.c.kAuftrag == order_id).values(nStorno=1))

    def _add_lines(self, order_id: int, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._connect(write=True) as conn:
            self._order_row(conn, order_id)
            sort = conn.execute(
                select(func.count()).where(tAuftragPosition.c.kAuftrag == order_id)
            ).scalar_one()
            created = []
            for number, line in enumerate(lines, start=sort + 1):
                values = self._position_values(conn, line)
                key = conn.execute(
                    tAuftragPosition.insert().values(kAuftrag=order_id, nSort=number, **values)
                ).inserted_primary_key
                if values["kArtikel"]:
                    self.worker.book(conn, values["kArtikel"], reserved=values["fAnzahl"])
                row = conn.execute(
                    select(tAuftragPosition).where(
                        tAuftragPosition.c.kAuftragPosition == (key[0] if key else 0)
                    )
                ).one()
                created.append(position_json(row))
            return created

    @staticmethod
    def _position_values(conn: Connection, line: dict[str, Any]) -> dict[str, Any]:
        quantity = line.get("Quantity")
        if not isinstance(quantity, int | float) or quantity < 0:
            raise WawiRefusal(
                400, "Validation failed", {"Quantity": "The Quantity field is required."}
            )
        sku = line.get("SKU") or None
        article = None
        if sku:
            article = conn.execute(
                select(tArtikel.c.kArtikel).where(tArtikel.c.cArtNr == sku, tArtikel.c.nDelete == 0)
            ).scalar()
            if article is None:
                raise WawiRefusal(400, f"Item with SKU {sku!r} not found")
        rate = Decimal(str(line.get("TaxRate") or 0))
        if "SalesPriceNet" in line:
            net = Decimal(str(line["SalesPriceNet"]))
        else:
            net = Decimal(str(line.get("SalesPriceGross") or 0)) / (1 + rate / 100)
        return {
            "kArtikel": article,
            "cArtNr": sku,
            "cName": line.get("Name"),
            "fAnzahl": Decimal(str(quantity)),
            "fVkNetto": net.quantize(Decimal("0.00001")),
            "fMwSt": rate,
            "fRabatt": Decimal(str(line.get("Discount") or 0)),
            "nType": POSITION_ITEM if article else 0,
        }
