"""Sandbox handlers for ``bg.local.goods.sku.list.query`` and ``bg.local.goods.stock.edit``."""

from __future__ import annotations

from typing import Any

from ._data import Sku
from ._envelope import SandboxError
from ._state import SandboxState

__all__ = ["GOODS_HANDLERS", "render_sku"]

_MAX_STOCK = 1_000_000


def render_sku(sku: Sku) -> dict[str, Any]:
    """A SKU in the shape of the documented SKU list example."""
    price = f"{sku.price_cents / 100:.2f}"
    return {
        "goodsId": sku.goods_id, "skuId": sku.sku_id, "skuSn": sku.sku_sn,
        "goodsName": sku.goods_name, "specName": sku.spec_name,
        "specList": [{"specId": sku.sku_id % 100_000, "parentSpecId": 1001}],
        "stock": sku.stock, "price": price, "retailPrice": {"amount": price, "currency": "EUR"},
        "currency": "EUR", "status4VO": sku.status, "subStatus4VO": sku.sub_status,
        "skuShowSubStatus4VO": sku.sub_status, "goodsIsOnSale": int(sku.status == 2),
        "crtTime": sku.crt_time_ms, "skuStatusChangeTime": sku.status_change_time_ms,
        "thumbUrl": f"https://img.sandbox.temu.local/{sku.goods_id}.jpg",
        "volumeInfo": {"length": "20.0", "width": "15.0", "height": "10.0", "unit": "cm"},
        "weightInfo": {"weight": "350", "unit": "g"},
        "lowTrafficTag": 0, "restrictedTrafficTag": 0,
    }  # fmt: skip


def _int(params: dict[str, Any], key: str, default: int) -> int:
    try:
        return int(params.get(key, default))
    except (TypeError, ValueError):
        raise SandboxError(150_010_003, "Invalid Request Parameters") from None


def sku_list(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """SKUs filtered by ``skuStatusFilterType`` (1 all, 2 active, 3 inactive), ``skuIdList`` and
    ``searchText``; ordered by goodsId, skuId; ``pageNo``/``pageSize`` (≤ 100)."""
    status = _int(params, "skuStatusFilterType", 1)
    page_no = max(1, _int(params, "pageNo", 1))
    page_size = min(100, max(1, _int(params, "pageSize", 10)))
    ids = params.get("skuIdList")
    text = str(params.get("searchText") or "").lower()
    if ids:
        pool: list[Sku] = [state.skus[int(i)] for i in ids if int(i) in state.skus]
        hits = [s for s in pool if _keep(s, status, text)]
    else:
        hits = _cached_hits(state, status, text)
    page = hits[(page_no - 1) * page_size : page_no * page_size]
    return {"pageNo": page_no, "total": len(hits), "skuList": [render_sku(s) for s in page]}


def _keep(sku: Sku, status: int, text: str) -> bool:
    if status != 1 and sku.status != status:
        return False
    return not text or text in sku.goods_name.lower() or text in sku.sku_sn.lower()


def _cached_hits(state: SandboxState, status: int, text: str) -> list[Sku]:
    # Paging 100 000 SKUs re-filters on every page otherwise; status flips bump sku_version.
    key = (status, text)
    cached = state.sku_query_cache.get(key)
    if cached is None or cached[0] != state.sku_version:
        cached = (state.sku_version, [s for s in state.skus.values() if _keep(s, status, text)])
        state.sku_query_cache[key] = cached
    return cached[1]


def _sku_status(sku_id: int, ok: bool, code: int = 0, msg: str = "") -> dict[str, Any]:
    return {"skuId": sku_id, "stockEditStatus": ok, "errorCode": code, "errorMsg": msg}


def _parse_changes(params: dict[str, Any]) -> list[tuple[int, str, int]]:
    changes: list[tuple[int, str, int]] = []
    for key, field in (("skuStockTargetList", "stockTarget"), ("skuStockChangeList", "stockDiff")):
        entries = params.get(key) or []
        if not isinstance(entries, list):
            raise SandboxError(150_010_003, "Invalid Request Parameters")
        for entry in entries:
            if not isinstance(entry, dict) or "skuId" not in entry or field not in entry:
                raise SandboxError(150_010_003, "Invalid Request Parameters")
            changes.append((int(entry["skuId"]), field, int(entry[field])))
    if not changes:
        raise SandboxError(150_010_003, "Invalid Request Parameters")
    return changes


def _check_changes(changes: list[tuple[int, str, int]]) -> None:
    seen: dict[int, str] = {}
    for sku_id, field, _ in changes:
        if sku_id in seen:
            if seen[sku_id] != field:
                raise SandboxError(150_013_003, "Only one stock adjustment method can be active "
                                   "at a time.")  # fmt: skip
            raise SandboxError(150_013_001, "Duplicate SKUs detected. Please remove them and try "
                               "again")  # fmt: skip
        seen[sku_id] = field


def stock_edit(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """One goods per call; target or diff per SKU; SKUs of other goods fail individually."""
    goods_id = _int(params, "goodsId", 0)
    if goods_id not in state.goods:
        raise SandboxError(150_010_003, "Invalid Request Parameters: goodsId")
    changes = _parse_changes(params)
    _check_changes(changes)
    key = params.get("requestUniqueKey")
    if key is not None:
        if str(key) in state.used_request_keys:
            raise SandboxError(
                state.config.duplicate_request_key_code,
                f"Duplicate request: requestUniqueKey {key} was already used",
            )
        state.used_request_keys.add(str(key))
    results = []
    for sku_id, field, value in changes:
        sku = state.skus.get(sku_id)
        if sku is None or sku.goods_id != goods_id:
            results.append(_sku_status(sku_id, False, 150_010_003, "SKU does not belong to goods"))
            continue
        new_stock = value if field == "stockTarget" else sku.stock + value
        if not 0 <= new_stock <= _MAX_STOCK:
            results.append(_sku_status(sku_id, False, 150_013_002,
                                       "Quantity must be between 0 and 1000000"))  # fmt: skip
            continue
        state.set_stock(sku, new_stock, f"stock.edit {key}")
        results.append(_sku_status(sku_id, True))
    ok = all(r["stockEditStatus"] for r in results)
    return {"goodsId": goods_id, "operateResult": ok, "msg": "" if ok else "partial failure",
            "skuStockEditStatusInfoList": results}  # fmt: skip


GOODS_HANDLERS = {
    "bg.local.goods.sku.list.query": sku_list,
    "bg.local.goods.stock.edit": stock_edit,
}
