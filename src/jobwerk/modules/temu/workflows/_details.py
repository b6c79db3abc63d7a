"""``api_to_json``'s reading of TEMU: which orders need details, their shipping info and amounts,
the SKU prices a new shop lacks — and TEMU refusing one order, which concerns that order alone."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from jobwerk.modules.temu.client import (
    BusinessError,
    OrderListItem,
    OrderStatus,
    PermissionDeniedError,
    SkuStatus,
    TemuClient,
)
from jobwerk.modules.temu.models import TemuOrder, TemuProduct
from jobwerk.modules.temu.store import chunks
from jobwerk.modules.temu.workflows import _shop as shop
from jobwerk.sdk import StepContext

DETAIL_CONCURRENCY = 8
SKU_ID_BATCH = 100


def merged(*lists: list[OrderListItem]) -> list[OrderListItem]:
    """The orders of several listings, each once."""
    found = {o.parent_order_map.parent_order_sn: o for orders in lists for o in orders}
    return list(found.values())


async def needing_details(
    ctx: StepContext[Any], owner: str, orders: list[OrderListItem]
) -> list[str]:
    """Orders to ship that are not in JTL yet and have no complete address stored.

    Besides the listed ones, stored orders still waiting for their address are asked again.
    """
    to_ship = [
        o.parent_order_map.parent_order_sn
        for o in orders
        if o.parent_order_map.parent_order_status == OrderStatus.UN_SHIPPING
    ]
    done: set[str] = set()
    async with shop.database(ctx).session() as session:
        waiting = await session.execute(
            select(TemuOrder.parent_order_sn, TemuOrder.shipping_info).where(
                TemuOrder.instance_id == owner,
                TemuOrder.status == OrderStatus.UN_SHIPPING,
                TemuOrder.xml_state == "pending",
            )
        )
        listed = set(to_ship)
        to_ship += [
            sn for sn, info in waiting.all() if sn not in listed and not _address_complete(info)
        ]
        for part in chunks(to_ship):
            rows = await session.execute(
                select(
                    TemuOrder.parent_order_sn, TemuOrder.xml_state, TemuOrder.shipping_info
                ).where(TemuOrder.instance_id == owner, TemuOrder.parent_order_sn.in_(part))
            )
            done.update(
                sn for sn, state, info in rows if state != "pending" or _address_complete(info)
            )
    return [sn for sn in to_ship if sn not in done]


def _address_complete(info: dict[str, Any] | None) -> bool:
    return bool(info and info.get("addressLine1") and info.get("postCode"))


async def fetch_details(
    ctx: StepContext[Any], client: TemuClient, numbers: list[str]
) -> dict[str, list[tuple[str, Any]]]:
    """Shipping info (and amounts, while the token may read them) of each order.

    TEMU refusing one order (a business error such as ``180020008``) concerns that order alone:
    it is recorded as a ``refusal`` and asked again next run; every other order goes on.
    """
    found: dict[str, list[tuple[str, Any]]] = {"shipping_info": [], "amount": [], "refusal": []}
    amounts_allowed = True
    limit = asyncio.Semaphore(DETAIL_CONCURRENCY)
    done = 0

    async def one(sn: str) -> None:
        nonlocal amounts_allowed, done
        async with limit:
            ctx.check_cancelled()
            try:
                info = await client.get_shipping_info(sn)
                amount = None
                if amounts_allowed:
                    try:
                        amount = await client.get_order_amount(sn)
                    except PermissionDeniedError as exc:
                        if amounts_allowed:
                            amounts_allowed = False
                            ctx.warning(
                                "TEMU amount query not permitted for this token "
                                f"({exc.error_code}); prices come from the SKU list or JTL"
                            )
            except BusinessError as exc:
                if exc.retryable:
                    raise
                found["refusal"].append((sn, _refusal(exc)))
                return
            found["shipping_info"].append((sn, info.model_dump(mode="json", by_alias=True)))
            if amount is not None:
                found["amount"].append((sn, amount.model_dump(mode="json", by_alias=True)))
            done += 1
            ctx.progress(done, len(numbers), message="reading shipping info and amounts")

    for part in chunks(numbers, 200):
        await shop.run_all(one(sn) for sn in part)
    ctx.count("orders_refused", len(found["refusal"]))
    refused = [
        f"TEMU refused order {sn}: [{r['code']}] {r['message']}" for sn, r in found["refusal"]
    ]
    shop.warn_summary(ctx, refused, "orders TEMU refused (see held_orders)")
    return found


async def sku_prices(
    ctx: StepContext[Any],
    client: TemuClient,
    owner: str,
    orders: list[OrderListItem],
    wanted: set[str],
) -> list[tuple[str, Any]]:
    """TEMU's SKU price of every SKU in the orders going to JTL that no SKU list stored yet
    (a new shop): the price of a line when the amount query is not permitted."""
    sku_ids = {
        line.sku_id
        for order in orders
        if order.parent_order_map.parent_order_sn in wanted
        for line in order.order_list
    }
    async with shop.database(ctx).session() as session:
        known = set(
            await session.scalars(
                select(TemuProduct.sku_id).where(
                    TemuProduct.instance_id == owner,
                    TemuProduct.sku_id.in_(sku_ids),
                    TemuProduct.price.is_not(None),
                )
            )
        )
    found: list[tuple[str, Any]] = []
    try:
        for part in chunks(sorted(sku_ids - known), SKU_ID_BATCH):
            page = await client.list_skus(
                SkuStatus.ALL, page_size=SKU_ID_BATCH, extra={"skuIdList": list(part)}
            )
            found += [(str(s.sku_id), {"skuSn": s.sku_sn, "price": s.price}) for s in page.sku_list]
    except PermissionDeniedError as exc:
        ctx.warning(
            f"TEMU SKU list not permitted for this token ({exc.error_code}): prices from JTL"
        )
    return found


def _refusal(exc: BusinessError) -> dict[str, Any]:
    return {"code": exc.error_code, "message": exc.error_msg, "api": exc.api_type}
