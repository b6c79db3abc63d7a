"""Which TEMU APIs each workflow calls, and what a token lacking some of them means — pure.

Compares a token's `apiScopeList` (`bg.open.accesstoken.info.get`) with these needs so that a
missing scope shows in health before a sync fails or degrades.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ApiNeed:
    """One TEMU API a workflow calls; without a `required` one the workflow fails."""

    api: str
    workflow: str
    required: bool
    effect: str
    sensitive: bool = False


API_NEEDS = (
    ApiNeed("bg.order.list.v2.get", "sync_orders", True, "no orders are read"),
    ApiNeed("bg.order.shippinginfo.v2.get", "sync_orders", True, "no shipping addresses"),
    ApiNeed("bg.logistics.companies.get", "sync_orders", True, "no carriers for tracking"),
    ApiNeed("bg.logistics.warehouse.list.get", "sync_orders", True, "no tracking is sent"),
    ApiNeed("bg.logistics.shipment.v2.confirm", "sync_orders", True, "no tracking is sent"),
    ApiNeed("bg.logistics.shipment.v2.get", "sync_orders", True, "confirmed tracking unread"),
    ApiNeed("bg.local.goods.sku.list.query", "sync_inventory", True, "no SKUs are read"),
    ApiNeed("bg.local.goods.stock.edit", "sync_inventory", True, "no stock is sent"),
    ApiNeed(
        "bg.order.amount.query",
        "sync_orders",
        False,
        "prices come from TEMU's SKU list or JTL instead of the order's amounts",
        sensitive=True,
    ),
)
"""The TEMU APIs jobwerk's workflows call (token info itself is always allowed)."""

_GRANT = "re-authorize the app in TEMU Seller Center with this API ticked"
_GRANT_SENSITIVE = "ask your TEMU business manager to whitelist this sensitive API, then " + _GRANT


def _missing(need: ApiNeed) -> dict[str, Any]:
    return {
        "api": need.api,
        "workflow": need.workflow,
        "required": need.required,
        "effect": f"{need.workflow} {'fails' if need.required else 'degrades'}: {need.effect}",
        "grant": _GRANT_SENSITIVE if need.sensitive else _GRANT,
    }


def scope_check(granted: Iterable[str]) -> dict[str, Any]:
    """Health check of a token's API scopes: `error` when a required API is missing,
    `warning` for an optional one or when TEMU did not report any scopes, else `ok`."""
    scopes = set(granted)
    if not scopes:
        message = "TEMU did not report the token's API scopes"
        return {"status": "warning", "missing": [], "message": message}
    missing = [_missing(need) for need in API_NEEDS if need.api not in scopes]
    if not missing:
        return {"status": "ok", "missing": [], "message": "all APIs the workflows use granted"}
    status = "error" if any(m["required"] for m in missing) else "warning"
    message = "; ".join(f"{m['api']} missing — {m['effect']}; {m['grant']}" for m in missing)
    return {"status": status, "missing": missing, "message": message}
