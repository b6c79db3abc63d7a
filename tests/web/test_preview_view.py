"""Preview on the dashboard's TEMU trigger cards, in a real browser on ``jobwerk demo``'s shop: the
same sync as a dry run, on its run page, with what it would write to JTL-Wawi listed."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from jobwerk.core import run_service
from jobwerk.core.instances import instance_config, primary_instance
from jobwerk.core.states import FINISHED
from tests.support.web import Session

pytestmark = pytest.mark.browser


def _call(shop_tab: Session, coroutine: Any) -> Any:
    return shop_tab.server.call(coroutine)


def _new_order_to_ship(shop_tab: Session) -> str:
    """An order to ship in the demo's TEMU sandbox, after the demo's own first order sync."""
    runtime = shop_tab.server.runtime

    async def settled() -> tuple[bool, str]:
        async with runtime.db.session() as session:
            runs, _ = await run_service.list_runs(
                session, run_service.RunFilter(status=tuple(FINISHED), workflow="temu.sync_orders")
            )
            instance = await primary_instance(session, "temu")
            return bool(runs), instance_config(runtime.box, instance).settings["base_url"]

    for _ in range(300):
        done, router = _call(shop_tab, settled())
        if done:
            break
        shop_tab.page.wait_for_timeout(100)
    where = urlsplit(router)
    answer = httpx.post(f"{where.scheme}://{where.netloc}/_sandbox/orders", json={"status": 2})
    assert answer.status_code == 201, answer.text
    number: str = answer.json()["parentOrderMap"]["parentOrderSn"]
    return number


def test_preview_starts_a_dry_run_and_shows_what_it_would_write(shop_tab: Session) -> None:
    number = _new_order_to_ship(shop_tab)
    shop_tab.login("operator")
    page = shop_tab.page
    card = page.get_by_role("form", name=re.compile("Start .*order", re.I)).first
    # The preview is a button of its own, not a parameter of the form.
    expect(card.get_by_label(re.compile("dry run", re.I))).to_have_count(0)

    card.get_by_role("button", name="Preview").click()

    expect(page).to_have_url(re.compile(r"#/runs/[0-9a-f]{32}$"))
    run_id = page.url.rsplit("/", 1)[1]
    try:
        _check_the_preview(shop_tab, run_id, number)
    finally:
        _forget(shop_tab, run_id)  # the shop's other tests look at its latest order sync


def test_the_stock_watch_card_previews_one_look(shop_tab: Session) -> None:
    shop_tab.login("operator")
    page = shop_tab.page
    card = page.get_by_role("form", name=re.compile("Start .*stock watch", re.I)).first

    card.get_by_role("button", name="Preview").click()

    expect(page).to_have_url(re.compile(r"#/runs/[0-9a-f]{32}$"))
    run_id = page.url.rsplit("/", 1)[1]
    try:
        expect(page.locator(".page-head .badge")).to_have_text(
            re.compile("^completed"), timeout=60_000
        )
        expect(page.get_by_role("region", name="Progress")).to_contain_text("a dry run")
        expect(page.get_by_role("region", name="Result")).to_contain_text("nothing: no JTL-Wawi")

        async def stored() -> tuple[Any, Any, Any]:
            async with shop_tab.server.runtime.db.session() as session:
                run = await run_service.get_run(session, run_id)
                return run.workflow, run.job_id, run.params

        workflow, job_id, params = _call(shop_tab, stored())
        assert workflow == "temu.watch_stock" and job_id is None and params["dry_run"] is True
    finally:
        _forget(shop_tab, run_id)


def _check_the_preview(shop_tab: Session, run_id: str, number: str) -> None:
    page = shop_tab.page
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("^completed"), timeout=60_000)
    info = page.get_by_role("region", name="Progress")
    expect(info).to_contain_text("a dry run: nothing was written")
    result = page.get_by_role("region", name="Result")
    expect(result).to_contain_text("nothing: no JTL-Wawi order")
    row = result.get_by_role("row").filter(has_text=number)
    document = row.locator("details.document")
    document.locator("summary").click()
    expect(document.locator("pre")).to_contain_text(number)
    expect(result.get_by_role("link", name=re.compile("preview-jtl-orders.json"))).to_be_visible()

    async def stored() -> tuple[Any, Any]:
        async with shop_tab.server.runtime.db.session() as session:
            run = await run_service.get_run(session, run_id)
            return run.job_id, run.params

    job_id, params = _call(shop_tab, stored())
    assert job_id is None and params["dry_run"] is True
    assert shop_tab.accessibility_violations() == []
    shop_tab.screenshot(f"shop-preview-{shop_tab.size}")


def _forget(shop_tab: Session, run_id: str) -> None:
    runtime = shop_tab.server.runtime

    async def delete() -> None:
        for _ in range(250):
            async with runtime.transaction() as session:
                run = await run_service.get_run(session, run_id)
                if run.status in FINISHED:
                    await run_service.delete_run(session, run_id)
                    return
            await asyncio.sleep(0.1)

    _call(shop_tab, delete())
