"""Settings of one TEMU instance: the TEMU shop, its JTL-Wawi database and mapping choices."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from jobwerk.modules.temu.mapping import STANDARD_VAT_RATES, OrderMappingSettings


class TemuSettings(BaseModel):
    """One TEMU seller shop connected to one JTL-Wawi; secrets are stored encrypted."""

    model_config = ConfigDict(extra="forbid")

    region: Literal["eu", "us", "global"] = Field("eu", description="TEMU gateway region")
    app_key: str = Field(min_length=1, description="App key from the TEMU developer portal")
    app_secret: SecretStr = Field(description="App secret (signs requests)")
    access_token: SecretStr = Field(description="The shop's access token")
    base_url: str | None = Field(
        None, description="Router URL override, e.g. the TEMU sandbox's (default: the region's)"
    )
    rate_limit: float = Field(20.0, gt=0, le=1000, description="TEMU requests per second")
    mall_id: int | None = Field(
        None,
        ge=1,
        description="TEMU mall id of the shop: webhooks carry it, so with several shops of one "
        "app each event goes to its own shop only (empty: to every shop of the app key)",
    )
    stock_watch_seconds: float = Field(
        10.0,
        ge=1,
        le=600,
        description="How often the stock watch (job watch_stock) looks for changed JTL stock; "
        "changed SKUs reach TEMU about this long after the change plus the push",
    )
    max_retries: int = Field(4, ge=0, le=10, description="Retries of a failed TEMU call")
    backoff_seconds: float = Field(0.5, ge=0, le=30, description="First retry delay (doubles)")
    jtl_backend: Literal["db", "rest"] = Field(
        "db",
        description="How JTL-Wawi is reached: its eazybusiness database (orders through the XML "
        "import table) or the JTL-Wawi REST API (orders created directly)",
    )
    jtl_url: SecretStr | None = Field(
        None, description="db: SQLAlchemy URL of the eazybusiness database (may hold a password)"
    )
    jtl_rest_url: str | None = Field(
        None,
        description="rest: base URL of the Wawi API, e.g. http://127.0.0.1:5883/api/eazybusiness",
    )
    jtl_api_key: SecretStr | None = Field(
        None, description="rest: the API key JTL-Wawi issued at the app registration"
    )
    jtl_customer_id: int | None = Field(
        None, ge=1, description="rest: the JTL customer (Sammelkunde) the TEMU orders are booked on"
    )
    jtl_customer_mode: Literal["new", "collective", "lookup"] = Field(
        "lookup",
        description="db: the JTL customer of an order: 'lookup' an existing one by the buyer's "
        "e-mail (TEMU's relay address is stable per buyer; new only when none exists), "
        "'collective' books every order on jtl_customer_number, 'new' lets JTL create one "
        "per order",
    )
    jtl_customer_number: str | None = Field(
        None,
        min_length=1,
        max_length=30,
        description="db, collective mode: the customer number (cKundenNr) of the Sammelkunde",
    )
    jtl_company_id: int = Field(1, ge=1, description="rest: the JTL company (Firma) of the orders")
    jtl_cancellation_reason_id: int | None = Field(
        None, ge=1, description="rest: reason of orders cancelled at TEMU (default: Wawi's first)"
    )
    jtl_stock_buffer: int = Field(
        0, ge=0, description="rest: units held back per article (the API hides Wawi's buffer)"
    )
    warehouse_ids: list[int] = Field(
        default_factory=list, description="JTL warehouses (kWarenLager) whose stock is offered"
    )
    jtl_platform: int = Field(5, description="nPlattform written with queued orders")
    shipping_method_name: str = Field(
        "DHL Paket", description="JTL shipping method (Versandart) written into imported orders"
    )
    shipping_warehouse_id: str | None = Field(
        None, description="TEMU warehouse id for shipments (default: the shop's default warehouse)"
    )
    carrier_overrides: dict[str, int] = Field(
        default_factory=dict, description="JTL shipping method name → TEMU carrier id"
    )
    region_carrier_overrides: dict[int, dict[str, int]] = Field(
        default_factory=dict, description="TEMU regionId → (JTL method name → TEMU carrier id)"
    )
    vat_rates: dict[str, Decimal] = Field(
        default_factory=dict, description="VAT rate overrides per destination country (ISO code)"
    )
    default_vat_rate: Decimal = Field(Decimal(19), ge=0, le=100)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    payment_method_name: str = "TEMU"

    @model_validator(mode="after")
    def _backend_is_configured(self) -> TemuSettings:
        needed = {
            "db": ("jtl_url",),
            "rest": ("jtl_rest_url", "jtl_api_key", "jtl_customer_id"),
        }[self.jtl_backend]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"jtl_backend '{self.jtl_backend}' needs {', '.join(missing)}")
        if self.jtl_customer_mode == "collective" and not self.jtl_customer_number:
            raise ValueError("jtl_customer_mode 'collective' needs jtl_customer_number")
        return self

    def mapping(self) -> OrderMappingSettings:
        """The order mapping choices of this shop."""
        return OrderMappingSettings(
            vat_rates={**STANDARD_VAT_RATES, **self.vat_rates},
            default_vat_rate=self.default_vat_rate,
            currency=self.currency,
            shipping_method_name=self.shipping_method_name,
            payment_method_name=self.payment_method_name,
        )
