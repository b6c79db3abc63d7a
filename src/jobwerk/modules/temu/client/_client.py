"""``TemuClient``: typed methods for the TEMU Open API calls the connector uses."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from ._base import BaseTemuClient
from ._errors import MalformedResponseError, PermissionDeniedError
from ._models_goods import Sku, SkuListPage, SkuStatus, StockEditResult
from ._models_logistics import (
    AccessTokenInfo,
    LogisticsCompany,
    ShipmentConfirmResult,
    ShipmentInfo,
    Warehouse,
)
from ._models_orders import OrderAmount, OrderDetail, OrderListItem, OrderListPage, ShippingInfo
from ._requests import SendType, ShipmentPackage, TimeWindow

__all__ = ["MAX_PAGE_SIZE", "TemuClient"]

logger = logging.getLogger("jobwerk.modules.temu.client")

MAX_PAGE_SIZE = 100
MAX_STOCK = 1_000_000
"""The most stock TEMU takes for one SKU."""
_M = TypeVar("_M", bound=BaseModel)
_COMPANIES = TypeAdapter(list[LogisticsCompany])


def _parse(model: type[_M], result: Any, api_type: str) -> _M:
    try:
        return model.model_validate(result)
    except ValidationError as exc:
        raise MalformedResponseError(f"unexpected result shape: {exc}", api_type=api_type) from exc


def _window_params(**windows: tuple[str, str, TimeWindow | None]) -> dict[str, int]:
    params: dict[str, int] = {}
    for start_key, end_key, window in windows.values():
        if window is not None:
            params[start_key] = window.start
            params[end_key] = window.end
    return params


class TemuClient(BaseTemuClient):
    """Async TEMU Open API client for a local (EU/US/global) seller shop.

    Construct with credentials and a region or ``base_url`` (see :class:`BaseTemuClient`);
    use as ``async with TemuClient(...) as client``. Every call is signed, rate limited per
    app key, retried with back-off on retryable failures and reported to ``on_exchange``.
    """

    async def list_orders(
        self,
        *,
        page_number: int = 1,
        page_size: int = MAX_PAGE_SIZE,
        parent_order_status: int | None = None,
        created: TimeWindow | None = None,
        updated: TimeWindow | None = None,
        confirmed: TimeWindow | None = None,
        expect_ship_latest: TimeWindow | None = None,
        parent_order_sns: Sequence[str] | None = None,
        region_id: int | None = None,
        sort_by: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> OrderListPage:
        """Fetch one page of ``bg.order.list.v2.get``; time filters always go out in pairs.

        Raises:
            TemuError: TEMU refused the call (e.g. ``BusinessError`` 140020013).
        """
        params: dict[str, Any] = {
            "pageNumber": page_number,
            "pageSize": page_size,
            "parentOrderStatus": parent_order_status,
            "parentOrderSnList": list(parent_order_sns) if parent_order_sns else None,
            "regionId": region_id,
            "sortby": sort_by,
        }
        params.update(
            _window_params(
                created=("createAfter", "createBefore", created),
                updated=("updateAtStart", "updateAtEnd", updated),
                confirmed=("parentConfirmTimeStart", "parentConfirmTimeEnd", confirmed),
                ship=("expectShipLatestTimeStart", "expectShipLatestTimeEnd", expect_ship_latest),
            )
        )
        params.update(extra or {})
        api_type = "bg.order.list.v2.get"
        return _parse(OrderListPage, await self.call(api_type, params), api_type)

    async def iter_orders(self, **filters: Any) -> AsyncIterator[OrderListItem]:
        """Yield the parent orders of every page of :meth:`list_orders` (same keyword filters).

        Pages until ``totalItemNum`` orders were seen or a page comes back empty.
        """
        filters.pop("page_number", None)
        page_number, seen = 1, 0
        while True:
            page = await self.list_orders(page_number=page_number, **filters)
            for item in page.page_items:
                yield item
            seen += len(page.page_items)
            if not page.page_items or seen >= page.total_item_num:
                return
            page_number += 1

    async def list_all_orders(self, **filters: Any) -> list[OrderListItem]:
        """All parent orders matching the filters of :meth:`list_orders`, every page read."""
        return [item async for item in self.iter_orders(**filters)]

    async def get_order_detail(self, parent_order_sn: str) -> OrderDetail:
        """``bg.order.detail.v2.get`` for one parent order."""
        api_type = "bg.order.detail.v2.get"
        result = await self.call(api_type, {"parentOrderSn": parent_order_sn})
        return _parse(OrderDetail, result, api_type)

    async def get_shipping_info(self, parent_order_sn: str) -> ShippingInfo:
        """``bg.order.shippinginfo.v2.get``: the buyer address (usable from status 2 on)."""
        api_type = "bg.order.shippinginfo.v2.get"
        result = await self.call(api_type, {"parentOrderSn": parent_order_sn})
        return _parse(ShippingInfo, result, api_type)

    async def get_order_amount(self, parent_order_sn: str) -> OrderAmount:
        """``bg.order.amount.query`` (a whitelisted, sensitive API).

        Raises:
            PermissionDeniedError: the token lacks the amount API (3000032).
        """
        api_type = "bg.order.amount.query"
        result = await self.call(api_type, {"parentOrderSn": parent_order_sn})
        return _parse(OrderAmount, result, api_type)

    async def get_order_amount_or_none(self, parent_order_sn: str) -> OrderAmount | None:
        """Like :meth:`get_order_amount`, but None (and a logged warning) without permission."""
        try:
            return await self.get_order_amount(parent_order_sn)
        except PermissionDeniedError as exc:
            logger.warning(
                "TEMU amount query not permitted for this token (%s); continuing without "
                "amounts for %s",
                exc.error_code,
                parent_order_sn,
            )
            return None

    async def list_skus(
        self,
        status: int = SkuStatus.ACTIVE,
        *,
        page_no: int = 1,
        page_size: int = MAX_PAGE_SIZE,
        extra: Mapping[str, Any] | None = None,
    ) -> SkuListPage:
        """One page of ``bg.local.goods.sku.list.query`` for ``skuStatusFilterType=status``."""
        params: dict[str, Any] = {
            "skuStatusFilterType": status,
            "pageNo": page_no,
            "pageSize": page_size,
        }
        params.update(extra or {})
        api_type = "bg.local.goods.sku.list.query"
        return _parse(SkuListPage, await self.call(api_type, params), api_type)

    async def iter_skus(
        self, statuses: Iterable[int] = (SkuStatus.ACTIVE, SkuStatus.INACTIVE)
    ) -> AsyncIterator[Sku]:
        """Yield every SKU of the given statuses (default Active and Inactive), all pages."""
        for status in statuses:
            page_no, seen = 1, 0
            while True:
                page = await self.list_skus(status, page_no=page_no)
                for sku in page.sku_list:
                    yield sku
                seen += len(page.sku_list)
                if not page.sku_list or seen >= page.total:
                    break
                page_no += 1

    async def list_all_skus(
        self, statuses: Iterable[int] = (SkuStatus.ACTIVE, SkuStatus.INACTIVE)
    ) -> list[Sku]:
        """Every SKU of the given statuses; sold-out SKUs are Inactive, so read 2 and 3."""
        return [sku async for sku in self.iter_skus(statuses)]

    async def set_stock(
        self,
        goods_id: int,
        targets: Mapping[int, int],
        *,
        request_unique_key: str | None = None,
        stock_type: int = 0,
    ) -> StockEditResult:
        """Set absolute stock (target mode) for SKUs of one goods via ``bg.local.goods.stock.edit``.

        Targets are clamped to TEMU's 0…1 000 000. The result is checked per SKU: failed SKUs
        are logged and listed in :attr:`StockEditResult.failures` for the caller to report.

        Raises:
            TemuError: the whole call failed.
        """
        target_list = [
            {"skuId": sku_id, "stockTarget": max(0, min(MAX_STOCK, int(target)))}
            for sku_id, target in targets.items()
        ]
        params = {
            "goodsId": goods_id,
            "stockType": stock_type,
            "skuStockTargetList": target_list,
            "requestUniqueKey": request_unique_key,
        }
        api_type = "bg.local.goods.stock.edit"
        result = _parse(StockEditResult, await self.call(api_type, params), api_type)
        for failure in result.failures:
            logger.warning(
                "TEMU stock edit failed for goods %s sku %s: [%s] %s",
                goods_id,
                failure.sku_id,
                failure.error_code,
                failure.error_msg,
            )
        return result

    async def list_logistics_companies(self, region_id: int) -> list[LogisticsCompany]:
        """Carriers of one region (``result`` is an array for this API)."""
        api_type = "bg.logistics.companies.get"
        result = await self.call(api_type, {"regionId": region_id})
        try:
            return _COMPANIES.validate_python(result or [])
        except ValidationError as exc:
            raise MalformedResponseError(f"unexpected result: {exc}", api_type=api_type) from exc

    async def list_warehouses(self, *, buy_shipping_only: bool | None = None) -> list[Warehouse]:
        """The seller's warehouses (``result.warehouseList``)."""
        api_type = "bg.logistics.warehouse.list.get"
        result = await self.call(api_type, {"returnEnableBuyShippingLabelOnly": buy_shipping_only})
        if not isinstance(result, dict) or not isinstance(result.get("warehouseList"), list):
            raise MalformedResponseError("result.warehouseList missing", api_type=api_type)
        return [_parse(Warehouse, w, api_type) for w in result["warehouseList"]]

    async def confirm_shipment(
        self, packages: Sequence[ShipmentPackage], send_type: SendType = SendType.SINGLE_PACKAGE
    ) -> ShipmentConfirmResult:
        """Upload tracking via ``bg.logistics.shipment.v2.confirm``.

        Never retried after the request may have reached TEMU: on an ambiguous failure check
        :meth:`get_shipments` before trying again (tracking numbers are single-use).

        Raises:
            BusinessError: TEMU refused (e.g. 120014004 tracking number already used).
            TemuError: any other failure.
        """
        params = {"sendType": int(send_type), "sendRequestList": [p.to_param() for p in packages]}
        api_type = "bg.logistics.shipment.v2.confirm"
        result = await self.call(api_type, params, idempotent=False)
        return _parse(ShipmentConfirmResult, result or {}, api_type)

    async def get_shipments(self, parent_order_sn: str, order_sn: str) -> list[ShipmentInfo]:
        """Recorded shipments of one order line (``bg.logistics.shipment.v2.get``)."""
        api_type = "bg.logistics.shipment.v2.get"
        params = {"parentOrderSn": parent_order_sn, "orderSn": order_sn}
        result = await self.call(api_type, params)
        infos = (result or {}).get("shipmentInfoDTO") if isinstance(result, dict) else None
        if infos is None:
            return []
        if not isinstance(infos, list):
            raise MalformedResponseError("shipmentInfoDTO is not a list", api_type=api_type)
        return [_parse(ShipmentInfo, info, api_type) for info in infos]

    async def get_token_info(self) -> AccessTokenInfo:
        """``bg.open.accesstoken.info.get``: token validity, expiry and API scopes."""
        api_type = "bg.open.accesstoken.info.get"
        return _parse(AccessTokenInfo, await self.call(api_type), api_type)
