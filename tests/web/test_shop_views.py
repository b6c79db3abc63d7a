"""The dashboard as a seller meets it on ``jobwerk demo``'s shop (TEMU sandbox, JTL replica, docs):
instance cards by name, TEMU figures by status name, a run page that reads like a report, ids
that are never cut, focus after navigation, and no serious accessibility violation on any view,
each at desktop and at phone size."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from jobwerk.core import run_service
from jobwerk.core.states import FINISHED
from tests.support.web import Session

pytestmark = pytest.mark.browser

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"
VIEWS = {
    "overview": "/",
    "jobs": "/#/jobs",
    "runs": "/#/runs",
    "docs": "/#/docs",
    "modules": "/#/modules",
}


def _finished_temu_run(shop_tab: Session) -> dict[str, Any]:
    """The latest finished TEMU order sync (the demo starts one at once)."""
    runtime = shop_tab.server.runtime

    async def latest() -> dict[str, Any] | None:
        async with runtime.db.session() as session:
            runs, _ = await run_service.list_runs(
                session, run_service.RunFilter(status=tuple(FINISHED), workflow="temu.sync_orders")
            )
            return {"id": runs[0].id, "status": runs[0].status} if runs else None

    for _ in range(300):
        found = shop_tab.server.call(latest())
        if found:
            return found
        shop_tab.page.wait_for_timeout(100)
    raise AssertionError("the demo's first order sync did not finish")


def test_overview_shows_each_instance_by_name_with_its_own_status(shop_tab: Session) -> None:
    shop_tab.login("viewer")
    page = shop_tab.page
    _finished_temu_run(shop_tab)
    card = page.locator("[data-card^=instance-]", has_text="Temu Demo shop (primary)")
    expect(card).to_be_visible()
    expect(card).to_contain_text("last success")
    expect(card.locator(".recent a").first).to_be_visible()
    # Card titles carry names, never a 32-hex id.
    for title in page.locator("[data-card] .label").all_text_contents():
        assert not re.search(r"[0-9a-f]{32}", title), title
    orders = page.locator("[data-card=orders]")
    expect(orders).to_contain_text("To ship")
    assert not re.search(r"^\s*\d+\s*$", orders.locator("dt").first.text_content() or "")
    # TEMU's order status is chosen by name in the trigger form, not typed as a code.
    status = page.get_by_role("form", name=re.compile("Start .*order", re.I)).first.get_by_label(
        re.compile("Parent Order Status", re.I)
    )
    expect(status).to_have_js_property("tagName", "SELECT")
    assert "to ship" in status.locator("option").all_text_contents()
    assert page.evaluate(NO_OVERFLOW)
    shop_tab.screenshot(f"shop-overview-{shop_tab.size}")


def test_the_run_page_reads_like_a_report(shop_tab: Session) -> None:
    run = _finished_temu_run(shop_tab)
    shop_tab.login("viewer")
    page = shop_tab.page
    # A unique prefix is enough; the page then shows the whole id.
    page.goto(f"/#/runs/{run['id'][:8]}")
    expect(page).to_have_url(re.compile(f"#/runs/{run['id']}$"))
    expect(page.locator(".run-id")).to_have_text(run["id"])
    expect(page.locator(".page-head .badge")).to_have_text(run["status"].replace("_", " "))
    info = page.get_by_role("region", name="Progress")
    expect(info.locator(".started-by")).to_have_text("the demo set-up")
    params = page.get_by_role("region", name="Parameters")
    expect(params).to_contain_text("Days Back")
    counts = page.locator("[data-section=counts] table")
    expect(counts.get_by_role("row").first).to_be_visible()
    assert "{" not in (page.get_by_role("region", name="Result").text_content() or "")
    if run["status"] == "completed_with_warnings":
        expect(page.locator("[data-section=warnings] li").first).to_be_visible()
    assert page.evaluate(NO_OVERFLOW)
    shop_tab.screenshot(f"shop-run-{shop_tab.size}")


def test_runs_list_keeps_whole_ids_and_fits_a_phone(shop_tab: Session) -> None:
    run = _finished_temu_run(shop_tab)
    shop_tab.login("viewer")
    page = shop_tab.page
    page.goto("/#/runs")
    expect(page.locator(f"tbody tr[data-run='{run['id']}'] a")).to_have_text(run["id"])
    options = page.get_by_label("Status").locator("option").all_text_contents()
    assert "completed with warnings" in options
    assert page.evaluate(NO_OVERFLOW)
    shop_tab.screenshot(f"shop-runs-{shop_tab.size}")


def test_navigation_moves_the_focus_to_the_new_page(shop_tab: Session) -> None:
    shop_tab.login("viewer")
    page = shop_tab.page
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.goto("/#/runs")
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("view", [*VIEWS, "run"])
def test_no_serious_accessibility_violations(shop_tab: Session, view: str) -> None:
    path = f"/#/runs/{_finished_temu_run(shop_tab)['id']}" if view == "run" else VIEWS[view]
    shop_tab.login("admin")
    page = shop_tab.page
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.goto(path)
    page.wait_for_load_state("networkidle")
    expect(page.locator("main h1")).to_be_visible()
    assert shop_tab.accessibility_violations() == []
