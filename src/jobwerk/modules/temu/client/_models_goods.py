"""SKU list and stock edit payloads (``bg.local.goods.*``)."""

from __future__ import annotations

from pydantic import Field

from ._model_base import TemuModel

__all__ = [
    "RetailPrice",
    "Sku",
    "SkuListPage",
    "SkuSpec",
    "SkuStatus",
    "SkuStockEditStatus",
    "StockEditResult",
    "VolumeInfo",
    "WeightInfo",
]


class SkuStatus:
    """``skuStatusFilterType`` values used by the connector."""

    ALL = 1
    ACTIVE = 2
    INACTIVE = 3


class SkuSpec(TemuModel):
    """One variation attribute of a SKU."""

    spec_id: int | None = None
    spec_name: str | None = None
    parent_spec_id: int | None = None
    parent_spec_name: str | None = None


class RetailPrice(TemuModel):
    """The price shown to buyers; ``amount`` is a decimal string."""

    amount: str | None = None
    currency: str | None = None


class VolumeInfo(TemuModel):
    """Package dimensions as decimal strings."""

    length: str | None = None
    width: str | None = None
    height: str | None = None
    unit: str | None = None


class WeightInfo(TemuModel):
    """Package weight as a decimal string."""

    weight: str | None = None
    unit: str | None = None


class Sku(TemuModel):
    """One SKU of ``bg.local.goods.sku.list.query``; ``sku_sn`` is the seller's article number."""

    goods_id: int
    sku_id: int
    sku_sn: str | None = None
    goods_name: str | None = None
    spec_name: str | None = None
    spec_list: list[SkuSpec] = Field(default_factory=list)
    stock: int | None = None
    price: str | None = None
    retail_price: RetailPrice | None = None
    currency: str | None = None
    status4_vo: int | None = Field(default=None, alias="status4VO")
    sub_status4_vo: int | None = Field(default=None, alias="subStatus4VO")
    sku_show_sub_status4_vo: int | None = Field(default=None, alias="skuShowSubStatus4VO")
    goods_is_on_sale: int | None = None
    crt_time: int | None = None
    sku_status_change_time: int | str | None = None
    thumb_url: str | None = None
    volume_info: VolumeInfo | None = None
    weight_info: WeightInfo | None = None
    low_traffic_tag: int | None = None
    restricted_traffic_tag: int | None = None


class SkuListPage(TemuModel):
    """One page of the SKU list."""

    page_no: int | None = None
    total: int = 0
    sku_list: list[Sku] = Field(default_factory=list)


class SkuStockEditStatus(TemuModel):
    """Per-SKU outcome of a stock edit."""

    sku_id: int
    stock_edit_status: bool
    error_code: int | None = None
    error_msg: str | None = None


class StockEditResult(TemuModel):
    """``bg.local.goods.stock.edit`` result; check :attr:`failures`, not only the envelope."""

    goods_id: int | None = None
    operate_result: bool | None = None
    msg: str | None = None
    sku_stock_edit_status_info_list: list[SkuStockEditStatus] = Field(default_factory=list)

    @property
    def failures(self) -> list[SkuStockEditStatus]:
        """SKUs whose stock was not changed."""
        return [s for s in self.sku_stock_edit_status_info_list if not s.stock_edit_status]

    @property
    def ok(self) -> bool:
        """True when the call and every SKU succeeded."""
        return self.operate_result is not False and not self.failures
