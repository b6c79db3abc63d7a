"""Settings of one TEMU instance: the TEMU shop, its JTL-Wawi database and mapping choices."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

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
    max_retries: int = Field(4, ge=0, le=10, description="Retries of a failed TEMU call")
    backoff_seconds: float = Field(0.5, ge=0, le=30, description="First retry delay (doubles)")
    jtl_url: SecretStr = Field(
        description="SQLAlchemy URL of the eazybusiness database (may contain a password)"
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

    def mapping(self) -> OrderMappingSettings:
        """The order mapping choices of this shop."""
        return OrderMappingSettings(
            vat_rates={**STANDARD_VAT_RATES, **self.vat_rates},
            default_vat_rate=self.default_vat_rate,
            currency=self.currency,
            shipping_method_name=self.shipping_method_name,
            payment_method_name=self.payment_method_name,
        )
