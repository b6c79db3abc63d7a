"""The dashboard in a real browser against a live server: sign-in, overview, trigger, jobs,
runs, run page with logs, cancel and retry, roles, phone viewport and the PWA files."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, expect

from jobwerk.core import instances, job_service, run_service
from jobwerk.manager import repositories
from tests.support.manager import NAME, Catalog
from tests.support.web import Session

pytestmark = pytest.mark.browser


def test_failed_login_shows_a_message(web: Session) -> None:
    web.login("admin", "wrong password")
    expect(web.page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(web.page.get_by_label("Password")).to_be_focused()
    expect(web.page.locator("#topbar")).to_be_hidden()
    web.screenshot("login-failed")


def test_login_shows_user_and_role_then_logout(web: Session) -> None:
    web.login("admin")
    page = web.page
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("#user")).to_have_text("admin")
    expect(page.locator("#role")).to_have_text("admin")
    expect(page.locator("#conn")).to_have_text("Live")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to jobwerk")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to jobwerk")).to_be_visible()


def _percent(session: Session, selector: str) -> None:
    expect(session.page.locator(selector)).to_have_attribute("aria-valuenow", "100", timeout=20_000)


def test_trigger_card_validates_then_runs_to_completion(web: Session) -> None:
    web.login("operator")
    page = web.page
    card = page.get_by_role("form", name="Start Example workflow")
    expect(card.get_by_label("Items")).to_have_attribute("type", "number")
    expect(card.get_by_label("Fail In")).to_have_js_property("tagName", "SELECT")
    expect(card.get_by_label("Flaky")).to_have_attribute("type", "checkbox")

    card.get_by_label("Items").fill("0")
    card.get_by_role("button", name="Run now").click()
    expect(card.get_by_label("Items")).to_have_attribute("aria-invalid", "true")
    expect(card.locator(".error-text:visible")).to_contain_text("greater than or equal to 1")

    card.get_by_label("Items").fill("5")
    card.get_by_label("Delay").fill("0.05")
    card.get_by_role("button", name="Run now").click()
    expect(card.get_by_label("Items")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator(".toast", has_text="Example workflow started")).to_be_visible()
    _percent(web, ".trigger-live [role=progressbar]")
    expect(card.locator(".trigger-live")).to_contain_text("completed")
    # Announced from /ws/logs like any run that finishes, whoever started it.
    expect(page.locator(".toast", has_text="Example workflow completed")).to_be_visible()
    web.screenshot("overview")


def _start(web: Session, params: dict[str, Any], *, job: str | None = "demo_example") -> str:
    """Start a run the way the scheduler or another client would: through the engine."""
    runtime = web.server.runtime

    async def start() -> str:
        async with runtime.transaction() as session:
            if job is None:
                run = await run_service.enqueue_run(
                    session, runtime.workflows, "demo.example", params
                )
            else:
                run = await job_service.trigger_job(session, runtime.workflows, job, params)
            return run.id

    return web.server.call(start())


def test_run_page_shows_steps_and_filters_logs(web: Session) -> None:
    run_id = _start(web, {"items": 8, "delay": 0.02})
    web.login("viewer")
    page = web.page
    page.goto(f"/#/runs/{run_id}")
    _percent(web, "[aria-label='Run progress']")
    expect(page.locator(".run-percent")).to_have_text("100%")
    expect(page.locator(".timeline li[data-status=completed]")).to_have_count(3)
    expect(page.locator(".page-head .badge")).to_have_text("completed")
    expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
    expect(page.get_by_role("button", name="Retry run")).to_be_hidden()
    logs = page.locator(".logs .line")
    expect(logs.first).to_be_visible()

    page.get_by_label("Text", exact=True).fill("transformed")
    expect(logs).to_have_count(4)
    for message in logs.locator(".msg").all_text_contents():
        assert "transformed" in message
    page.get_by_label("Text", exact=True).fill("")
    page.get_by_label("Step", exact=True).select_option("publish")
    expect(logs.first).to_contain_text("published")
    assert set(logs.locator(".step").all_text_contents()) == {"publish"}
    page.get_by_label("Level", exact=True).select_option("error")
    expect(page.locator(".logs .empty")).to_have_text("No log lines match.")
    web.screenshot("run")


def test_cancel_and_retry_a_run(web: Session) -> None:
    run_id = _start(web, {"items": 400, "delay": 0.05})
    web.login("operator")
    page = web.page
    page.goto(f"/#/runs/{run_id}")
    expect(page.locator(".page-head .badge")).to_have_text("running")
    expect(page.locator(".timeline li[data-status=running]")).to_have_count(1)
    page.get_by_role("button", name="Cancel run").click()
    # Cancelling asks first; "Keep" leaves the run alone.
    page.get_by_role("dialog").get_by_role("button", name="Keep").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator(".page-head .badge")).to_have_text("running")
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel run").click()
    expect(page.locator(".page-head .badge")).to_have_text("cancelled")
    expect(page.locator(".toast", has_text="Example workflow was cancelled")).to_be_visible()

    page.get_by_role("button", name="Retry run").click()
    expect(page).not_to_have_url(re.compile(run_id))
    expect(page.locator(".kv", has_text="Retry of")).to_contain_text(run_id)
    expect(page.locator(".page-head .badge")).to_have_text("running")
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel run").click()
    expect(page.locator(".page-head .badge")).to_have_text("cancelled")


def test_toggle_a_job_and_edit_its_schedule(web: Session) -> None:
    web.login("admin")
    page = web.page
    page.get_by_role("link", name="Jobs").click()
    card = page.locator("[data-job=demo_example]")
    switch = card.get_by_role("switch", name="Enabled")
    expect(switch).to_be_checked()
    switch.click()
    expect(card.locator(".step-head .badge")).to_have_text("disabled")
    expect(card.get_by_role("switch", name="Enabled")).not_to_be_checked()
    expect(card.get_by_role("button", name="Run now")).to_be_disabled()
    card.get_by_role("switch", name="Enabled").click()
    expect(card.get_by_role("switch", name="Enabled")).to_be_checked()
    expect(card.get_by_role("button", name="Run now")).to_be_enabled()

    card.get_by_text("Edit schedule").click()
    card.get_by_text("Cron", exact=True).click()
    card.get_by_label("Cron expression").fill("every day")
    card.get_by_role("button", name="Save schedule").click()
    expect(card.get_by_label("Cron expression")).to_have_attribute("aria-invalid", "true")
    expect(card.locator(".error-text:visible")).to_contain_text("5 fields")
    card.get_by_label("Cron expression").fill("*/30 8-18 * * 1-5")
    # The cron fires on the browser's clock unless another zone is chosen.
    expect(card.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    card.get_by_role("button", name="Save schedule").click()
    expect(card.locator(".schedule-text")).to_have_text("cron */30 8-18 * * 1-5 (Europe/Berlin)")

    card.get_by_text("Edit schedule").click() if not card.locator("details[open]").count() else None
    card.get_by_text("Interval", exact=True).click()
    card.get_by_label("Interval (minutes)").fill("15")
    card.get_by_role("button", name="Save schedule").click()
    expect(card.locator(".schedule-text")).to_have_text("every 15 min")
    card.get_by_text("Edit schedule").click() if not card.locator("details[open]").count() else None
    card.get_by_text("Manual", exact=True).click()
    card.get_by_role("button", name="Save schedule").click()
    expect(card.locator(".schedule-text")).to_have_text("manual only")
    web.screenshot("jobs")


def test_a_viewer_cannot_trigger_or_configure(web: Session) -> None:
    web.login("viewer")
    page = web.page
    expect(page.locator("#role")).to_have_text("viewer")
    expect(page.locator("#conn")).to_have_text("Live")
    # The first live snapshot matches what the page loaded: no toast for old runs.
    expect(page.locator(".toast")).to_have_count(0)
    card = page.get_by_role("form", name="Start Example workflow")
    expect(card.get_by_role("button", name="Run now")).to_be_disabled()
    expect(card.get_by_label("Items")).to_be_disabled()
    expect(card).to_contain_text("can view runs but not start them")
    page.get_by_role("link", name="Jobs").click()
    job = page.locator("[data-job=demo_example]")
    expect(job.get_by_role("switch", name="Enabled")).to_be_disabled()
    expect(job.get_by_role("button", name="Run now")).to_be_disabled()
    job.get_by_text("Edit schedule").click()
    expect(job.get_by_role("button", name="Save schedule")).to_be_disabled()


def test_runs_list_filters_and_pages(web: Session) -> None:
    for _ in range(26):
        _start(web, {"items": 1, "delay": 0}, job=None)
    failed = _start(web, {"items": 2, "delay": 0, "fail_in": "collect"}, job=None)
    web.login("admin")
    page = web.page
    page.get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    rows = page.locator("tbody tr[data-run]")
    expect(rows).to_have_count(25)
    expect(page.locator(".pager [role=status]")).to_contain_text("1–25 of")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".pager [role=status]")).to_contain_text("26–")
    expect(page.get_by_role("button", name="Previous")).to_be_enabled()

    page.get_by_label("Status").select_option("failed")
    expect(page.locator(f"tbody tr[data-run='{failed}']")).to_be_visible()
    expect(page.locator("tbody tr[data-run]:not([data-status=failed])")).to_have_count(0)
    page.get_by_label("Workflow").select_option("demo.example")
    page.get_by_label("Time").select_option("1h")
    expect(page.locator(f"tbody tr[data-run='{failed}']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"status=failed.*workflow=demo.example.*since=1h"))
    web.screenshot("runs")


NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def test_phone_sized_viewport(phone: Session) -> None:
    phone.login("admin")
    page = phone.page
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("form", name="Start Example workflow")).to_be_visible()
    assert page.evaluate(NO_OVERFLOW)
    phone.screenshot("overview-phone")
    page.get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    expect(page.get_by_label("Status")).to_be_visible()
    assert page.evaluate(NO_OVERFLOW)
    phone.screenshot("runs-phone")
    page.get_by_role("link", name="Jobs").click()
    expect(page.locator("[data-job=demo_example]")).to_be_visible()
    assert page.evaluate(NO_OVERFLOW)


def test_reconnects_with_backoff_and_resyncs(web: Session) -> None:
    web.login("admin")
    page = web.page
    page.get_by_role("link", name="Jobs").click()
    expect(page.locator("#conn")).to_have_text("Live")
    page.evaluate(
        """() => {
        const conn = document.getElementById("conn");
        window.connStates = [];
        new MutationObserver(() => window.connStates.push(conn.dataset.state))
          .observe(conn, { attributes: true });
    }"""
    )
    runtime = web.server.runtime
    hub = web.server.app.state.hub

    async def drop_clients_and_disable() -> None:
        # The server closes every /ws/logs socket; the change happens while the tab is away.
        for client in list(hub.clients):
            client.stop()
        async with runtime.transaction() as session:
            await job_service.set_enabled(session, "demo_example", False)

    web.server.call(drop_clients_and_disable())
    card = page.locator("[data-job=demo_example]")
    expect(card.locator(".step-head .badge")).to_have_text("disabled")
    expect(page.locator("#conn")).to_have_text("Live")
    assert "offline" in page.evaluate("window.connStates")

    async def enable() -> None:
        async with runtime.transaction() as session:
            await job_service.set_enabled(session, "demo_example", True)

    web.server.call(enable())
    expect(card.get_by_role("switch", name="Enabled")).to_be_checked()


def test_pwa_manifest_and_service_worker(web: Session) -> None:
    page = web.page
    manifest = page.request.get("/manifest.webmanifest")
    assert manifest.ok
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    icons = manifest.json()["icons"]
    assert {icon["sizes"] for icon in icons} >= {"any", "192x192", "512x512"}
    for icon in icons:
        assert page.request.get(icon["src"]).ok
    worker = page.request.get("/sw.js")
    assert worker.headers["service-worker-allowed"] == "/"

    web.login("viewer")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    cached: list[str] = page.evaluate(
        """async () => {
        await navigator.serviceWorker.ready;
        const cache = await caches.open("jobwerk-shell-v3");
        return (await cache.keys()).map((request) => new URL(request.url).pathname);
    }"""
    )
    assert "/static/app.css" in cached
    assert "/static/js/app.js" in cached
    assert [path for path in cached if not path.startswith("/static/")] == [
        "/manifest.webmanifest"
    ]  # no API answer, whatever its path


def test_modules_view_shows_instances_and_an_admin_makes_another_primary(web: Session) -> None:
    runtime = web.server.runtime

    async def two_instances() -> list[str]:
        async with runtime.transaction() as session:
            made = [
                await instances.create_instance(session, runtime.box, "demo", None, name, {})
                for name in ("Shop A", "Shop B")
            ]
        return [instance.id for instance in made]

    _, second = web.server.call(two_instances())
    web.login("admin")
    page = web.page
    page.get_by_role("link", name="Modules").click()
    expect(page.get_by_role("heading", name="Modules", exact=True)).to_be_visible()
    card = page.get_by_role("region", name="Module demo")
    shop_a = card.get_by_role("row", name=re.compile("Shop A"))
    shop_b = card.get_by_role("row", name=re.compile("Shop B"))
    primary = '.badge[data-status="primary"]'
    expect(shop_a.locator(primary)).to_be_visible()
    expect(shop_b).to_contain_text(second)
    expect(page.get_by_text("No repository offers modules yet")).to_be_visible()
    shop_b.get_by_role("button", name="Make primary").click()
    page.get_by_role("dialog").get_by_role("button", name="Make primary").click()
    expect(shop_b.locator(primary)).to_be_visible()
    expect(shop_b.get_by_role("button", name="Make primary")).to_have_count(0)
    expect(shop_a.locator(primary)).to_have_count(0)
    expect(shop_a.get_by_role("button", name="Make primary")).to_be_visible()
    web.screenshot("modules")

    # Deleting asks first; "Keep" keeps the instance, confirming removes it.
    shop_a.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Keep").click()
    expect(shop_a).to_be_visible()
    shop_a.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete instance").click()
    expect(card.get_by_role("row", name=re.compile("Shop A"))).to_have_count(0)
    assert not web.errors


def test_modules_view_offers_no_actions_to_viewers(web: Session) -> None:
    web.login("viewer")
    web.page.goto(web.server.url + "/#/modules")
    expect(web.page.get_by_role("region", name="Module demo")).to_be_visible()
    expect(web.page.get_by_role("button", name="Make primary")).to_have_count(0)
    expect(web.page.get_by_role("button", name="Install")).to_have_count(0)


def test_an_admin_installs_updates_and_rolls_back_a_module(web: Session, catalog: Catalog) -> None:
    for version in ("1.0.0", "1.1.0"):
        catalog.publish(NAME, version)
    runtime = web.server.runtime

    async def add_catalog() -> None:
        async with runtime.transaction() as session:
            await repositories.add_repository(session, "local", catalog.url)

    web.server.call(add_catalog())
    web.login("admin")
    page = web.page
    page.goto(web.server.url + "/#/modules")

    def offered(version: str) -> Locator:
        return page.get_by_role("row", name=re.compile(f"{NAME.title()} module .* {version}"))

    module = page.get_by_role("region", name=f"Module {NAME}")
    offered("1.0.0").get_by_role("button", name="Install").click()
    expect(offered("1.0.0").get_by_role("progressbar")).to_be_visible()
    expect(module).to_contain_text(f"{NAME} 1.0.0", timeout=60_000)
    expect(offered("1.0.0").locator(".badge")).to_have_text("installed")

    offered("1.1.0").get_by_role("button", name="Update to 1.1.0").click()
    expect(
        page.get_by_text(f"{NAME} 1.1.0 installed; restart jobwerk serve to run it")
    ).to_be_visible(timeout=60_000)
    expect(offered("1.1.0").locator(".badge")).to_have_text("installed")
    expect(offered("1.0.0").get_by_role("button", name="Update to 1.0.0")).to_be_visible()

    module.get_by_role("button", name="Roll back to 1.0.0").click()
    expect(offered("1.0.0").locator(".badge")).to_have_text("installed", timeout=60_000)
    expect(module.get_by_role("button", name="Roll back to 1.1.0")).to_be_visible()
    web.screenshot("modules-catalog")
    assert not web.errors


def test_a_run_with_warnings_is_its_own_state_everywhere(web: Session) -> None:
    web.login("operator")
    page = web.page
    run_id = _start(web, {"items": 2, "delay": 0, "flaky": True})
    # Announced as such, whoever started it.
    expect(
        page.locator(".toast[data-kind=warning]", has_text="completed with warnings")
    ).to_be_visible()
    page.goto(f"/#/runs/{run_id}")
    expect(page.locator(".page-head .badge")).to_have_text("completed with warnings")
    expect(page.locator("[data-section=warnings] li")).to_have_count(1)
    expect(page.locator(".run-percent")).to_have_text("100%")
    page.goto("/#/runs?status=completed_with_warnings")
    expect(page.locator(f"tbody tr[data-run='{run_id}'] .badge")).to_have_text(
        "completed with warnings"
    )
    expect(
        page.locator("tbody tr[data-run]:not([data-status=completed_with_warnings])")
    ).to_have_count(0)
    page.get_by_role("link", name="Jobs").click()
    expect(page.locator("[data-job=demo_example] .job-state")).to_have_text("warning")


def test_toasts_never_pile_over_the_page(web: Session) -> None:
    web.login("operator")
    page = web.page
    page.evaluate(
        "async () => { const { toast } = await import('/static/js/toast.js');"
        " for (let i = 0; i < 5; i++) toast(`note ${i}`, { timeout: 0 }); }"
    )
    expect(page.locator(".toast")).to_have_count(5)
    expect(page.locator(".toast:visible")).to_have_count(3)  # the newest three
    expect(page.locator(".toast:visible").last).to_contain_text("note 4")
    # Between and beside the toasts, clicks reach the page.
    assert (
        page.evaluate("getComputedStyle(document.getElementById('toasts')).pointerEvents") == "none"
    )


def test_log_lines_keep_their_time_on_one_line(web: Session) -> None:
    run_id = _start(web, {"items": 4, "delay": 0})
    web.login("viewer")
    page = web.page
    page.goto(f"/#/runs/{run_id}")
    expect(page.locator(".page-head .badge")).to_have_text("completed")
    expect(page.locator(".logs .line").first).to_be_visible()
    # Each time is one line box: it never wraps, however long the message beside it.
    boxes = page.evaluate(
        "() => [...document.querySelectorAll('.logs .line .time')].map((time) => {"
        " const range = document.createRange(); range.selectNodeContents(time);"
        " return range.getClientRects().length; })"
    )
    assert boxes and set(boxes) == {1}, boxes
