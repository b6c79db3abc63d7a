"""Order, address and amount payloads (``bg.order.*``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ._model_base import LabelValue, Money, TemuModel

__all__ = [
    "AddressExtra",
    "AddressWarning",
    "OrderAmount",
    "OrderAmountLine",
    "OrderAmountParent",
    "OrderDetail",
    "OrderLine",
    "OrderListItem",
    "OrderListPage",
    "OrderStatus",
    "PackageSnInfo",
    "ParentOrder",
    "PaymentInfo",
    "ProductRef",
    "ShippingInfo",
]


class OrderStatus:
    """``parentOrderStatus`` / ``orderStatus`` values."""

    PENDING = 1
    UN_SHIPPING = 2
    CANCELED = 3
    SHIPPED = 4
    PARTIALLY_SHIPPED = 41
    RECEIPTED = 5
    PARTIALLY_RECEIPTED = 51

    NAMES: ClassVar[dict[int, str]] = {
        1: "pending",
        2: "to ship",
        3: "cancelled",
        4: "shipped",
        41: "partly shipped",
        5: "received",
        51: "partly received",
    }
    """What the seller calls each status, as in TEMU's seller center."""


class ProductRef(TemuModel):
    """``productList[]`` entry; ``ext_code`` is the seller's item code."""

    product_id: int | None = None
    product_sku_id: int | None = None
    sold_factor: int | None = None
    ext_code: str | None = None


class PackageSnInfo(TemuModel):
    """A package of an order line (detail only)."""

    package_sn: str | None = None
    package_delivery_type: int | None = None
    call_success: bool | None = None


class PaymentInfo(TemuModel):
    """Payment details of a parent order (detail only)."""

    payment_method: str | None = None
    payment_processor_register: str | None = None
    payment_card_brand: str | None = None
    payment_auth_code: str | None = None


class ParentOrder(TemuModel):
    """``parentOrderMap`` of the order list and the order detail; times in UNIX seconds."""

    parent_order_sn: str
    parent_order_status: int
    parent_order_time: int | None = None
    parent_order_pending_finish_time: int | None = None
    parent_confirm_time: int | None = None
    expect_ship_latest_time: int | None = None
    latest_delivery_time: int | None = None
    parent_shipping_time: int | None = None
    update_time: int | None = None
    region_id: int | None = None
    site_id: int | None = None
    parent_order_label: list[LabelValue] = Field(default_factory=list)
    fulfillment_warning: list[str] = Field(default_factory=list)
    has_shipping_fee: bool | None = None
    order_payment_type: str | None = None
    shipping_method: int | None = None
    batch_order_number_list: list[str] = Field(default_factory=list)
    region_name1: str | None = None
    region_name2: str | None = None
    region_name3: str | None = None
    payment_info: list[PaymentInfo] = Field(default_factory=list)


class OrderLine(TemuModel):
    """``orderList[]`` entry: one TEMU SKU of a parent order; ship ``quantity``."""

    order_sn: str
    order_status: int
    goods_id: int
    sku_id: int
    quantity: int
    original_order_quantity: int | None = None
    canceled_quantity_before_shipment: int | None = None
    goods_name: str | None = None
    spec: str | None = None
    original_goods_name: str | None = None
    original_spec_name: str | None = None
    thumb_url: str | None = None
    product_list: list[ProductRef] = Field(default_factory=list)
    order_label: list[LabelValue] = Field(default_factory=list)
    fulfillment_type: str | None = None
    fulfillment_warning: list[str] = Field(default_factory=list)
    inventory_deduction_warehouse_id: str | None = None
    inventory_deduction_warehouse_name: str | None = None
    is_cancelled_during_pending: bool | None = None
    order_create_time: int | None = None
    order_shipping_time: int | None = None
    order_payment_type: str | None = None
    qualification_upload_end_time: int | None = None
    package_abnormal_type_list: list[str] = Field(default_factory=list)
    package_sn_info: list[PackageSnInfo] = Field(default_factory=list)
    has_uploaded_evidence: bool | None = None


class OrderListItem(TemuModel):
    """One parent order with its lines."""

    parent_order_map: ParentOrder
    order_list: list[OrderLine] = Field(default_factory=list)


class OrderDetail(OrderListItem):
    """``bg.order.detail.v2.get`` result (same shape as a list item plus detail-only fields)."""


class OrderListPage(TemuModel):
    """One page of ``bg.order.list.v2.get``."""

    total_item_num: int = 0
    page_items: list[OrderListItem] = Field(default_factory=list)


class AddressExtra(TemuModel):
    """Structured buyer name parts; prefer these over splitting ``receiptName``."""

    first_name: str | None = None
    last_name: str | None = None
    additional_first_name: str | None = None
    additional_last_name: str | None = None
    contactless_drop_point: str | None = None


class AddressWarning(TemuModel):
    """Shipping restriction hint (reason 1 COD, 2 self-shipping restricted, …)."""

    is_restriction: bool | None = None
    reason: int | None = None


class ShippingInfo(TemuModel):
    """``bg.order.shippinginfo.v2.get`` result; empty street/postcode means "not ready yet"."""

    receipt_name: str | None = None
    receipt_additional_name: str | None = None
    mobile: str | None = None
    backup_mobile: str | None = None
    mail: str | None = None
    region_name1: str | None = None
    region_name2: str | None = None
    region_name3: str | None = None
    region_name4: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    address_line_all: str | None = None
    post_code: str | None = None
    tax_code: str | None = None
    tax_code_type: int | None = None
    address_extra: AddressExtra | None = None
    warning: AddressWarning | None = None

    @property
    def is_complete(self) -> bool:
        """True when street and postcode are present (pending orders carry no address)."""
        return bool(self.address_line1 and self.post_code)


class OrderAmountParent(TemuModel):
    """Parent-level money fields of ``bg.order.amount.query``."""

    parent_order_sn: str | None = None
    base_price_total: Money | None = None
    shipping_amount_total: Money | None = None
    ship_amount_total_tax_incl: Money | None = None
    tax_total: Money | None = None
    tax_total_after_discount: Money | None = None
    discount_from_seller: Money | None = None
    discount_from_temu: Money | None = Field(default=None, alias="discountFromTEMU")
    refunds_total: Money | None = None
    estimated_revenue_deduction: Money | None = None
    estimated_revenue: Money | None = None
    customer_paid: Money | None = None
    total_discount: Money | None = None
    retail_price_total: Money | None = None
    retail_price_total_tax_incl: Money | None = None
    retail_price_total_tax_excl: Money | None = None
    product_tax_amount: Money | None = None
    ship_tax_amount: Money | None = None
    temu_tax_total: Money | None = None


class OrderAmountLine(TemuModel):
    """Line-level money fields; match to order lines by ``order_sn``, never by position."""

    order_sn: str
    quantity: int | None = None
    base_price: Money | None = None
    unit_base_price: Money | None = None
    unit_retail_price: Money | None = None
    unit_retail_price_vat_incl: Money | None = None
    unit_retail_price_vat_excl: Money | None = None
    retail_price_total_tax_incl: Money | None = None
    ship_amount_total_tax_incl: Money | None = None
    product_tax_amount: Money | None = None
    ship_tax_amount: Money | None = None
    product_tax_rate: int | None = None
    ship_tax_rate: int | None = None
    discount_from_seller: Money | None = None
    discount_from_temu: Money | None = Field(default=None, alias="discountFromTEMU")


class OrderAmount(TemuModel):
    """``bg.order.amount.query`` result."""

    parent_order_map: OrderAmountParent
    order_list: list[OrderAmountLine] = Field(default_factory=list)
    warning: list[str] = Field(default_factory=list)
