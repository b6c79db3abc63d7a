"""`JtlRest`: the `rest` backend of the JTL adapter (the JTL-Wawi REST API 1.x, on-premise).

Orders are created directly (sales order, then its line items) instead of going through the XML
import table; the external order number keeps every call idempotent across retries.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from jobwerk import __version__
from jobwerk.modules.temu.jtl._database import MAX_MARKETPLACE_STOCK
from jobwerk.modules.temu.jtl._order import JtlAddress, JtlOrder, JtlOrderLine
from jobwerk.modules.temu.jtl._types import (
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
from jobwerk.modules.temu.jtl._xml import WAWI_TIMEZONE

PAGE_SIZE = 100
DELIVERED = (1, 2)  # SalesOrderShippingDetail.DeliveryCompleteStatus: complete (with/without note)
REFUSALS = {
    401: "JTL-Wawi refused the API key (401): check jtl_api_key",
    402: "JTL-Wawi has no licence for the API, or the app was not authorised (402)",
    403: "JTL-Wawi has no application service (403): start the app registration in Wawi",
}
_T = TypeVar("_T")


class JtlRest:
    """Reads stock and tracking from the JTL-Wawi REST API and creates orders through it.

    Args:
        base_url: the API's base URL, e.g. ``http://127.0.0.1:5883/api/eazybusiness``.
        api_key: the key Wawi issued at the app registration (sent as ``Wawi <key>``).
        customer_id: the customer the orders are booked on (the REST API needs one).
        company_id: the company (Firma) of the orders.
        warehouse_ids: warehouses whose stock is offered; empty = all.
        cancellation_reason_id: the reason orders are cancelled with (default: Wawi's first).
        buffer: units held back per article (the API does not expose Wawi's own buffer).
        concurrency: requests in flight at once.
        transport: an httpx transport (tests).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        customer_id: int,
        company_id: int = 1,
        warehouse_ids: Sequence[int] = (),
        buffer: int = 0,
        cancellation_reason_id: int | None = None,
        concurrency: int = 4,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.company_id = company_id
        self.warehouse_ids = frozenset(warehouse_ids)
        self.buffer = buffer
        self.cancellation_reason_id = cancellation_reason_id
        self._slots = asyncio.Semaphore(concurrency)
        self._methods: dict[str, int] | None = None
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers={
                "Authorization": f"Wawi {api_key}",
                "x-appid": f"jobwerk/{__version__}",
                "x-appversion": __version__,
                "api-version": "1.0",
            },
            timeout=timeout,
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        """One API call; its refusals and failures become `JtlError` / `JtlUnavailable`."""
        async with self._slots:
            try:
                answer = await self._http.request(method, path, **options)
            except httpx.TransportError as exc:
                raise JtlUnavailable(
                    f"JTL-Wawi API unreachable at {self._http.base_url}: {exc}"
                ) from exc
        if answer.status_code in REFUSALS:
            raise JtlError(REFUSALS[answer.status_code])
        if answer.status_code >= 500:
            raise JtlUnavailable(f"JTL-Wawi API failed ({answer.status_code}): {_message(answer)}")
        if answer.status_code >= 400:
            raise JtlError(
                f"JTL-Wawi refused {method} /{path} ({answer.status_code}): {_message(answer)}"
            )
        try:
            return answer.json() if answer.content else None
        except ValueError as exc:  # a proxy's or web server's page instead of the API
            raise JtlUnavailable(
                f"JTL-Wawi API answered {method} /{path} with something that is not JSON: "
                f"{answer.text[:120]!r} (is jtl_rest_url the API's address?)"
            ) from exc

    async def _pages(self, path: str, **query: Any) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list (`pageNumber` from 1 while `HasNextPage`)."""
        number = 1
        while True:
            page = await self._call(
                "GET", path, params={**query, "pageNumber": number, "pageSize": PAGE_SIZE}
            )
            items = page.get("Items") or []
            for item in items:
                yield item
            if not items or not page.get("HasNextPage"):
                return
            number += 1

    async def check(self) -> JtlHealth:
        """The Wawi version behind the API (`GET /info`).

        Raises:
            JtlUnavailable: the API cannot be reached.
            JtlError: the API refused the key or the app.
        """
        info = await self._call("GET", "info")
        await self._call("GET", "shippingMethods")  # /info needs no key; this call does
        return JtlHealth(str(info.get("Version") or "") or None, import_status_columns=True)

    async def read_shipping_methods(self) -> list[ShippingMethod]:
        """All shipping methods; their names are what the carrier mapping maps."""
        rows = await self._call("GET", "shippingMethods")
        return [ShippingMethod(int(row["Id"]), row.get("Name") or "", True) for row in rows]

    async def read_all_stock(self, page_size: int = 5000) -> AsyncIterator[list[StockLevel]]:
        """Stock of every article that is not a parent, in pages ordered by item id.

        The API reports neither the quantity reserved by open orders nor the article's buffer:
        what is offered is the stock of the configured warehouses (all when none are) minus
        what is locked for availability and minus this adapter's ``buffer``.
        """
        skus: dict[int, str] = {}
        async for item in self._pages("items"):
            if not item.get("ChildItems") and item.get("SKU"):
                skus[int(item["Id"])] = item["SKU"]
        stock: dict[int, Decimal] = dict.fromkeys(skus, Decimal(0))
        async for row in self._pages("stocks"):
            item_id = int(row["ItemId"])
            if item_id in stock and self._counts(row):
                free = _decimal(row.get("QuantityTotal")) - _decimal(
                    row.get("QuantityLockedForAvailability")
                )
                stock[item_id] += free
        levels = [
            _stock_level(item_id, skus[item_id], stock[item_id], self.buffer)
            for item_id in sorted(skus)
        ]
        for start in range(0, len(levels), page_size):
            yield levels[start : start + page_size]

    async def stock_changes(self, mark: int | None) -> StockChanges:
        """Every article's stock, each time: Wawi API 1.0 has no change feed that covers the
        stock it offers (`Item.Changed` ignores stock, `/stocks/changes` lists bookings per
        item), so the caller compares with what it saw before."""
        levels = [level async for page in self.read_all_stock() for level in page]
        return StockChanges(levels, None, complete=True)

    def _counts(self, row: dict[str, Any]) -> bool:
        return not self.warehouse_ids or int(row.get("WarehouseId") or 0) in self.warehouse_ids

    async def queue_orders(self, orders: Sequence[JtlOrder]) -> list[QueueResult]:
        """Create each order unless JTL has one with its external number.

        An order created before whose line items never arrived gets them now. Orders are
        created one by one: when a call fails, the orders created before it stay, and the next
        run finds them by their external numbers.

        Raises:
            JtlError: an order number is empty or too long, JTL refused an order, or JTL has no
                shipping method of the order's name.
        """
        for order in orders:
            if not 0 < len(order.external_order_number) <= 50:
                raise JtlError(
                    "external order number must have 1-50 characters: "
                    f"{order.external_order_number!r}"
                )
        results = []
        done: set[str] = set()
        for order in orders:
            number = order.external_order_number
            if number in done:  # the first of repeated numbers carries the outcome
                results.append(QueueResult(number, False, None, "order already queued"))
                continue
            done.add(number)
            try:
                results.append(await self._create(order))
            except JtlUnavailable:
                raise
            except JtlError as exc:  # name the order the operator has to look at
                raise JtlError(f"order {number}: {exc.message}") from exc
        return results

    async def _create(self, order: JtlOrder) -> QueueResult:
        number = order.external_order_number
        existing = await self._find_order(number)
        if existing is not None:
            order_id = int(existing["Id"])
            if await self._call("GET", f"salesOrders/{order_id}/lineitems"):
                return QueueResult(number, False, order_id, "order already exists in JTL-Wawi")
            await self._add_lines(order_id, order)
            return QueueResult(number, True, order_id, "line items added to the order")
        created = await self._call("POST", "salesOrders", json=await self._order_body(order))
        order_id = int(created["Id"])
        await self._add_lines(order_id, order)
        return QueueResult(number, True, order_id, "created")

    async def _find_order(self, number: str) -> dict[str, Any] | None:
        async for row in self._pages("salesOrders", externalOrderNumber=number):
            if (row.get("ExternalNumber") or "").strip().casefold() == number.casefold():
                return row
        return None

    async def _order_body(self, order: JtlOrder) -> dict[str, Any]:
        return {
            "ExternalNumber": order.external_order_number,
            "CompanyId": self.company_id,
            "CustomerId": self.customer_id,
            "SalesOrderDate": _wawi_time(order.created_at),
            "BillingAddress": _address(order.customer),
            "Shipmentaddress": _address(order.delivery_address),
            "SalesOrderPaymentDetails": {"CurrencyIso": order.currency},
            "SalesOrderShippingDetail": {
                "ShippingMethodId": await self._shipping_method(order.shipping_method_name),
                **({"ShippingDate": _wawi_time(order.ship_by)} if order.ship_by else {}),
            },
            "Comment": order.comment,
            "CustomerComment": order.remark,
        }

    async def _add_lines(self, order_id: int, order: JtlOrder) -> None:
        await self._call("POST", f"salesOrders/{order_id}/lineitems", json=_line_items(order))

    async def order_payload(self, order: JtlOrder) -> dict[str, Any]:
        """What creating ``order`` sends, without sending it: the sales order and its line items.

        Raises:
            JtlError: JTL has no shipping method of the order's name.
        """
        return {"salesOrder": await self._order_body(order), "lineItems": _line_items(order)}

    async def _shipping_methods(self) -> dict[str, int]:
        """Shipping method ids by name, read once per adapter."""
        if self._methods is None:
            methods = await self.read_shipping_methods()
            self._methods = {m.name: m.shipping_method_id for m in methods}
        return self._methods

    async def _shipping_method(self, name: str) -> int:
        methods = await self._shipping_methods()
        found = {key.casefold(): value for key, value in methods.items()}.get(name.casefold())
        if found is None:
            known = ", ".join(sorted(methods)) or "none"
            raise JtlError(f"JTL-Wawi has no shipping method {name!r} (it has: {known})")
        return found

    async def article_prices(self, skus: Iterable[str]) -> dict[str, Decimal]:
        """None: the Wawi API's items carry no sales price, so orders without TEMU prices wait."""
        return {}

    async def order_import_status(self, numbers: Iterable[str]) -> dict[str, ImportStatus]:
        """Whether JTL has an order per external order number (the API creates them at once)."""
        wanted = list(dict.fromkeys(numbers))
        found = await _gather(self._find_order, wanted)
        return {number: _status(number, order) for number, order in zip(wanted, found, strict=True)}

    async def read_tracking(self, numbers: Iterable[str]) -> dict[str, list[TrackingPackage]]:
        """Packages per external order number, for orders delivered completely (absent: none
        yet, or not all of the order shipped yet); `tracking_number` is empty for a package
        whose number was not entered yet."""
        wanted = list(dict.fromkeys(numbers))
        found = await _gather(self._tracking_of, wanted)
        return {
            number: packages for number, packages in zip(wanted, found, strict=True) if packages
        }

    async def cancel_orders(self, numbers: Iterable[str]) -> dict[str, str | None]:
        """Cancel each order in JTL; per number None, or why it could not be cancelled
        (unknown, or already delivered: JTL answers 406)."""
        wanted = list(dict.fromkeys(numbers))
        if not wanted:
            return {}
        reasons = await self._call("GET", "salesOrders/cancellationReasons")
        if self.cancellation_reason_id is None and not reasons:
            raise JtlError("JTL-Wawi lists no cancellation reason: create one in Wawi")
        reason = self.cancellation_reason_id or int(reasons[0]["Id"])
        outcomes = await _gather(lambda number: self._cancel(number, reason), wanted)
        return dict(zip(wanted, outcomes, strict=True))

    async def _cancel(self, number: str, reason: int) -> str | None:
        order = await self._find_order(number)
        if order is None:
            return "JTL-Wawi has no such order"
        if order.get("IsCancelled"):
            return None
        body = {"CancellationReasonId": reason, "CancellationComment": "cancelled at TEMU"}
        try:
            await self._call("POST", f"salesOrders/{order['Id']}/cancel", json=body)
        except JtlUnavailable:
            raise
        except JtlError as exc:
            return f"JTL-Wawi did not cancel it ({exc.message}): stop it by hand"
        return None

    async def _tracking_of(self, number: str) -> list[TrackingPackage]:
        order = await self._find_order(number)
        shipping = (order or {}).get("SalesOrderShippingDetail") or {}
        if order is None or shipping.get("DeliveryCompleteStatus") not in DELIVERED:
            return []  # TEMU takes an order's packages in one call: wait for the last one
        names = {number: name for name, number in (await self._shipping_methods()).items()}
        packages = []
        async for note in self._pages("deliveryNotes", salesOrderNumber=order.get("Number")):
            for package in note.get("Packages") or []:
                packages.append(
                    TrackingPackage(
                        number,
                        note.get("Number"),
                        int(package["Id"]),
                        package.get("TrackingID") or "",
                        names.get(package.get("ShippingMethodId") or 0),
                        _parse_time(package.get("ShippedDate")),
                    )
                )
        return packages


async def _gather(
    call: Callable[[str], Coroutine[Any, Any, _T]], numbers: Sequence[str]
) -> list[_T]:
    """``call`` for every number at once (bounded by the adapter's slots); the first failure
    cancels the rest and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks: list[asyncio.Task[_T]] = [group.create_task(call(n)) for n in numbers]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from failed
    return [task.result() for task in tasks]


def _status(number: str, order: dict[str, Any] | None) -> ImportStatus:
    if order is None:
        return ImportStatus(number, ImportState.MISSING)
    return ImportStatus(
        number,
        ImportState.IMPORTED,
        order_id=int(order["Id"]),
        order_number=order.get("Number"),
        cancelled=bool(order.get("IsCancelled")),
    )


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:300] or answer.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    parts = [str(body.get("ErrorMessage") or body.get("ErrorCode") or "")]
    for field, problem in (body.get("ValidationErrors") or {}).items():
        parts.append(f"{field}: {problem}")
    return " ".join(part for part in parts if part)[:500] or answer.reason_phrase


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _stock_level(item_id: int, sku: str, stock: Decimal, buffer: int) -> StockLevel:
    available = min(max(math.floor(stock - buffer), 0), MAX_MARKETPLACE_STOCK)
    return StockLevel(item_id, sku, stock, buffer, available)


def _address(address: JtlAddress) -> dict[str, str]:
    return {
        "Company": address.company,
        "FirstName": address.first_name,
        "LastName": address.last_name,
        "Street": address.street,
        "Address2": address.address_addition,
        "PostalCode": address.postcode,
        "City": address.city,
        "State": address.state,
        "CountryIso": address.country,
        "PhoneNumber": address.phone,
        "MobilePhoneNumber": address.mobile,
        "EmailAddress": address.email,
    }


def _line_items(order: JtlOrder) -> list[dict[str, Any]]:
    lines = list(order.lines)
    if order.shipping.unit_price_gross:
        lines.append(order.shipping)
    return [_line(line) for line in lines]


def _line(line: JtlOrderLine) -> dict[str, Any]:
    return {
        "SKU": line.sku,
        "Name": line.name,
        "Quantity": float(line.quantity),
        "SalesPriceGross": float(line.unit_price_gross),
        "TaxRate": float(line.vat_rate),
        "Discount": float(line.discount),
    }


def _wawi_time(value: datetime) -> str:
    """Wawi keeps local time without a zone."""
    local = value.astimezone(WAWI_TIMEZONE) if value.tzinfo else value
    return local.replace(tzinfo=None, microsecond=0).isoformat()


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
