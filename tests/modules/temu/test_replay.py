"""Replays of finished TEMU syncs: the archived TEMU exchanges answer the same workflow again as a
dry run, over the API and the CLI, with TEMU out of reach; and the replaying transport itself."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from jobwerk.core.states import SUCCEEDED
from jobwerk.modules.temu.cli import app as temu_cli
from jobwerk.modules.temu.client import BusinessError, PermissionDeniedError, TemuClient
from jobwerk.modules.temu.workflows._replay import NO_ANSWER, Exchange, ReplayTransport
from jobwerk.storage.models import Run
from tests.support.api import ADMIN, http_client, make_settings, running_app, runtime_of
from tests.support.preview import import_rows, replay, world_state, written
from tests.support.temu import (
    ACCESS_TOKEN,
    APP_SECRET,
    Shop,
    add_instance,
    counts,
    exports,
    open_shop,
    set_jtl_stock,
    sync,
    sync_orders,
)

runner = CliRunner()


async def test_an_inventory_sync_replays_offline_with_the_same_stock_edits(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    original = await sync(api, "inventory", mode="full")
    assert counts(original)["stock_edits"] > 0
    sent = _archived_stock_targets(exports(app, original)["temu-inventory_to_api.jsonl"])
    shop.server.stop()  # TEMU is out of reach from here on
    before = await world_state(app, shop)

    run = await replay(api, original["id"], ADMIN)

    assert run["status"] in SUCCEEDED, run
    assert await world_state(app, shop) == before
    assert run["params"] == {**original["params"], "dry_run": True, "replay_of": original["id"],
                             "replay_jtl": None}  # fmt: skip
    assert {e["sku_id"]: e["new"] for e in written(app, run, "stock_edits")} == sent
    assert run["result"]["dry_run"]["replay_of"] == original["id"]


def _archived_stock_targets(archive: Path) -> dict[int, int]:
    targets = {}
    for line in archive.read_text("utf-8").splitlines():
        record = json.loads(line)
        for item in record["request_params"]["skuStockTargetList"]:
            targets[item["skuId"]] = item["stockTarget"]
    return targets


async def test_an_order_sync_replayed_against_its_jtl_finds_every_order_there(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    original = await sync_orders(api)
    shop.server.stop()
    for name, path in exports(app, original).items():  # what a replay reads holds no secret
        if name.startswith("temu-"):
            archived = path.read_text("utf-8")
            assert APP_SECRET not in archived and ACCESS_TOKEN not in archived
            assert '"sign"' not in archived and '"access_token"' not in archived

    run = await replay(api, original["id"], ADMIN)

    assert run["status"] in SUCCEEDED, run
    assert counts(run)["already_in_jtl"] == counts(original)["queued"]
    assert run["result"]["dry_run"]["jtl_orders"] == 0
    text = json.dumps(run)
    assert APP_SECRET not in text and ACCESS_TOKEN not in text


async def test_what_cannot_be_replayed_is_refused_with_a_reason(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    async def post(run_id: str) -> httpx.Response:
        return await api.post(f"/api/temu/runs/{run_id}/replay", headers=ADMIN)

    assert (await post("0" * 32)).status_code == 404
    other = await _stored_run(app, workflow="system.backup", status="completed")
    answer = await post(other)
    assert answer.status_code == 422 and "only TEMU order and inventory" in answer.text
    running = await _stored_run(app, workflow="temu.sync_orders", status="running", on=instance)
    assert (await post(running)).status_code == 409
    await sync(api, "inventory", mode="full")
    sku = next(iter(shop.sandbox.state.skus.values()))
    set_jtl_stock(shop, sku, sku.stock + 2)
    quick = await sync(api, "inventory", mode="quick")
    assert "temu-inventory_to_api.jsonl" in exports(app, quick)
    answer = await post(quick["id"])
    assert answer.status_code == 422 and "replay a full inventory sync" in answer.text
    orders = await sync_orders(api)
    for path in exports(app, orders).values():
        path.unlink()
    answer = await post(orders["id"])
    assert answer.status_code == 422 and "archived no TEMU exchanges" in answer.text
    viewer = await api.post(f"/api/temu/runs/{orders['id']}/replay")
    assert viewer.status_code == 401


async def _stored_run(app: FastAPI, *, workflow: str, status: str, on: str | None = None) -> str:
    async with runtime_of(app).db.write() as session:
        run = Run(workflow=workflow, status=status, params={}, instance_id=on, trigger="api")
        session.add(run)
        await session.flush()
        return run.id


def test_the_cli_replays_a_sync_offline_against_another_jtl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = open_shop(tmp_path / "shop", seed=5)
    untouched = tmp_path / "before-sync.db"
    shutil.copy(shop.jtl_path, untouched)  # JTL as it was before the sync
    settings = make_settings(tmp_path / "data").model_copy(update={"modules": ["temu"]})
    try:
        original = asyncio.run(_synced(settings, shop))
    finally:
        shop.server.stop()
    queued = import_rows(shop)
    assert queued
    monkeypatch.setenv("JOBWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JOBWERK_MODULES", '["temu"]')
    jtl_url = f"sqlite:///{untouched}"

    done = runner.invoke(temu_cli, ["replay", original[:8], "--jtl-url", jtl_url, "--json"])

    assert done.exit_code == 0, done.output
    outcome = json.loads(done.stdout)
    assert outcome["status"] in SUCCEEDED and outcome["replay_of"] == original
    files = {Path(p).name: Path(p) for p in outcome["exports"]}
    orders = json.loads(files["preview-jtl-orders.json"].read_text("utf-8"))
    assert {o["order"]: o["document"] for o in orders} == queued
    assert str(untouched) not in done.stdout and APP_SECRET not in done.stdout

    human = runner.invoke(temu_cli, ["replay", original, "--jtl-url", jtl_url])
    assert human.exit_code == 0, human.output
    assert f"would write: {len(queued)} JTL orders" in human.stdout
    assert str(untouched) not in human.stdout

    unknown = runner.invoke(temu_cli, ["replay", "f" * 32])
    assert unknown.exit_code == 2 and "not found" in unknown.output


async def _synced(settings: Any, shop: Shop) -> str:
    async with running_app(settings) as app, http_client(app) as api:
        await add_instance(app, "Shop", shop.settings())
        run = await sync_orders(api)
        assert run["status"] in SUCCEEDED, run
        run_id: str = run["id"]
        return run_id


def _envelope(result: Any) -> dict[str, Any]:
    return {"success": True, "errorCode": 1_000_000, "result": result}


async def test_the_transport_answers_in_order_by_api_and_parameters_and_names_what_is_missing() -> (
    None
):
    page = {"pageItems": [], "totalItemNum": 0}
    exchanges = [
        Exchange(
            "bg.order.list.v2.get",
            {"pageNumber": 1, "pageSize": 100, "updateAtStart": 5},
            _envelope(page),
        ),
        Exchange("bg.logistics.companies.get", {"regionId": 1}, _envelope([{"a": 1}])),
        Exchange("bg.logistics.companies.get", {"regionId": 1}, _envelope([{"a": 2}])),
        Exchange("bg.logistics.companies.get", {"regionId": 2}, _envelope([{"a": 3}])),
        Exchange(
            "bg.order.amount.query",
            {"parentOrderSn": "PO-0"},
            {"success": False, "errorCode": 3_000_032, "errorMsg": "no permission"},
        ),
        Exchange(
            "bg.local.goods.sku.list.query",
            {"pageNo": 1, "skuStatusFilterType": 2},
            _envelope(
                {"total": 2, "skuList": [{"skuId": 7, "goodsId": 1}, {"skuId": 8, "goodsId": 1}]}
            ),
        ),
    ]
    transport = ReplayTransport("r" * 32, exchanges)
    async with TemuClient(
        app_key="k", app_secret="s", access_token="t", base_url="http://temu.invalid/router",
        transport=transport, rate_limit=None, max_retries=0,
    ) as client:  # fmt: skip
        assert (await client.list_orders(page_number=1)).total_item_num == 0  # clock aside
        raw = [
            await client.call("bg.logistics.companies.get", {"regionId": r}) for r in (1, 2, 1, 1)
        ]
        assert raw == [[{"a": 1}], [{"a": 3}], [{"a": 2}], [{"a": 2}]]
        skus = await client.list_skus(0, page_size=100, extra={"skuIdList": [8, 9]})
        assert [s.sku_id for s in skus.sku_list] == [8]
        with pytest.raises(PermissionDeniedError):  # the token's, whichever order is asked
            await client.get_order_amount("PO-2")
        with pytest.raises(BusinessError) as missing:
            await client.get_shipping_info("PO-1")
    assert missing.value.error_code == NO_ANSWER
    assert "bg.order.shippinginfo.v2.get" in str(missing.value) and "PO-1" in str(missing.value)
