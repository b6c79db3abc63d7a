"""The dashboard's Docs view in a real browser: check and start a scrape of a real Sphinx site on
loopback, follow it on the run page, download its exports, and manage stored credentials."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from jobwerk.modules.docs import credentials as creds
from tests.support.docs import build_sphinx, serve
from tests.support.web import DashboardServer, Session, dashboard_settings, serve_dashboard

pytestmark = pytest.mark.browser

SECRET = "s3cret-token-never-shown"
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    """This module's server: the dashboard with the docs module, allowed to reach loopback."""
    with pytest.MonkeyPatch.context() as patch:
        # The docs module reads its SSRF allow-list from the environment at every scrape.
        patch.setenv("JOBWERK_DOCS__ALLOW_HOSTS", "127.0.0.1")
        data_dir = tmp_path_factory.mktemp("web-docs") / "data"
        with serve_dashboard(dashboard_settings(data_dir, ["demo", "docs"])) as server:
            yield server


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Sphinx build served on loopback; yields its start URL."""
    html = build_sphinx(tmp_path_factory.mktemp("docs-site"))
    with serve(Starlette(routes=[Mount("/sphinx", StaticFiles(directory=html, html=True))])) as url:
        yield f"{url}/sphinx/"


def _open_docs(session: Session) -> Page:
    page = session.page
    page.goto(session.server.url + "/#/docs")
    expect(page.get_by_role("heading", name="Docs", exact=True, level=1)).to_be_visible()
    return page


def _add_credential(page: Page, name: str, host: str) -> None:
    form = page.get_by_role("form", name="Add a credential")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Host", exact=True).fill(host)
    form.get_by_label("Kind").select_option("bearer")
    token = form.get_by_label("Token")
    expect(token).to_have_attribute("type", "password")
    token.fill(SECRET)
    form.get_by_role("button", name="Save credential").click()
    row = page.get_by_role("region", name="Stored credentials").locator("li", has_text=name)
    expect(row).to_contain_text(f"{host} · Bearer token")
    expect(form.get_by_label("Name", exact=True)).to_have_value("")
    expect(token).to_have_value("")


def _delete_credential(page: Page, name: str) -> None:
    section = page.get_by_role("region", name="Stored credentials")
    row = section.locator("li", has_text=name)
    row.get_by_role("button", name=f"Delete {name}").click()
    question = row.get_by_role("group", name=f"Delete {name}?")
    expect(question.get_by_role("button", name="Keep")).to_be_focused()
    question.get_by_role("button", name="Keep").click()
    expect(question).to_have_count(0)
    expect(row.get_by_role("button", name=f"Delete {name}")).to_be_focused()
    row.get_by_role("button", name=f"Delete {name}").click()
    question.get_by_role("button", name="Yes, delete").click()
    expect(section.get_by_role("status")).to_have_text(f"Deleted credential {name}.")
    expect(section.locator("li", has_text=name)).to_have_count(0)


def _scrape_from_the_view(session: Session, site: str, size: str) -> None:
    page = _open_docs(session)
    host = re.sub(r"^http://|/.*$", "", site)
    _add_credential(page, f"site-{size}", host)
    _add_credential(page, f"other-{size}", "docs.example.com")
    assert SECRET not in page.content()

    form = page.get_by_role("form", name="New scrape")
    form.get_by_label("Start URL").fill("not a url")
    form.get_by_label("Max pages").fill("0")
    form.get_by_role("button", name="Check").click()
    expect(form.get_by_label("Start URL")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Max pages")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".error-text:visible")).to_have_count(2)
    expect(form.locator(".error-text:visible").nth(1)).to_contain_text("greater than or equal to 1")

    form.get_by_label("Start URL").fill(site)
    form.get_by_label("Max pages").fill("50")
    form.get_by_label("JSON").check()
    form.get_by_text("More options").click()
    form.get_by_label("Rate limit").fill("20")
    form.get_by_label("Concurrency").fill("4")
    credential = form.get_by_label("Credential", exact=True)
    credential.select_option(label=f"other-{size} (docs.example.com)")
    form.get_by_role("button", name="Check").click()
    expect(credential).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".error-text:visible")).to_have_text(["host mismatch"])

    credential.select_option(label=f"site-{size} ({host})")
    form.get_by_role("button", name="Check").click()
    expect(form.get_by_role("status")).to_contain_text("Checked: ready to scrape")
    expect(form.get_by_role("heading", name="Estimate")).to_be_visible()
    expect(form.locator("dt", has_text="Pages sampled")).to_be_visible()
    expect(form.locator(".error-text:visible")).to_have_count(0)
    assert page.evaluate(NO_OVERFLOW)
    session.screenshot(f"docs-check-{size}")

    form.get_by_role("button", name="Start scrape").click()
    expect(page).to_have_url(re.compile(r"#/runs/[0-9a-f-]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("^completed"), timeout=60_000)

    page.go_back()
    scrape = page.locator(f".docs-list li[data-run='{run_id}']")
    expect(scrape.get_by_role("link", name=site)).to_have_attribute("href", f"#/runs/{run_id}")
    downloads = scrape.get_by_role("list", name=f"Downloads of {site}").get_by_role("link")
    expect(downloads).to_have_count(2)
    for link in downloads.all():
        href = link.get_attribute("href")
        assert href and href.startswith(f"/api/v1/exports/{run_id}/")
        assert page.request.get(href).status == 200
    assert page.evaluate(NO_OVERFLOW)
    session.screenshot(f"docs-{size}")

    _delete_credential(page, f"site-{size}")
    _delete_credential(page, f"other-{size}")
    assert SECRET not in page.content()


def test_scrape_and_credentials_on_a_desktop(web: Session, docs_site: str) -> None:
    web.page.set_viewport_size({"width": 1280, "height": 800})
    web.login("admin")
    _scrape_from_the_view(web, docs_site, "desktop")


def test_scrape_and_credentials_on_a_phone(phone: Session, docs_site: str) -> None:
    phone.login("admin")
    _scrape_from_the_view(phone, docs_site, "phone")


def _store_credential(server: DashboardServer, name: str) -> None:
    runtime = server.runtime
    data = creds.CredentialCreate.model_validate(
        {"name": name, "host": "docs.example.com", "auth_type": "bearer", "token": SECRET}
    )

    async def store() -> None:
        async with runtime.transaction() as session:
            await creds.create_credential(session, runtime.box, data)

    server.call(store())


def test_an_operator_scrapes_but_cannot_change_credentials(web: Session) -> None:
    _store_credential(web.server, "operator-visible")
    web.login("operator")
    page = _open_docs(web)
    form = page.get_by_role("form", name="New scrape")
    expect(form.get_by_role("button", name="Check")).to_be_enabled()
    expect(form.get_by_role("button", name="Start scrape")).to_be_enabled()
    section = page.get_by_role("region", name="Stored credentials")
    row = section.locator("li", has_text="operator-visible")
    expect(row).to_contain_text("docs.example.com · Bearer token")
    expect(row.get_by_role("button", name="Delete operator-visible")).to_be_disabled()
    adding = section.get_by_role("form", name="Add a credential")
    expect(adding.get_by_role("button", name="Save credential")).to_be_disabled()
    expect(adding.get_by_label("Name", exact=True)).to_be_disabled()
    expect(adding).to_contain_text("Only admins can add or delete credentials.")


def test_a_viewer_sees_past_scrapes_only(web: Session) -> None:
    web.login("viewer")
    page = _open_docs(web)
    form = page.get_by_role("form", name="New scrape")
    expect(form.get_by_label("Start URL")).to_be_disabled()
    expect(form.get_by_role("button", name="Check")).to_be_disabled()
    expect(form.get_by_role("button", name="Start scrape")).to_be_disabled()
    expect(form).to_contain_text("Your role can view scrapes but not start them.")
    section = page.get_by_role("region", name="Stored credentials")
    expect(section).to_contain_text("Operators and admins can see the stored credentials.")
    expect(section.get_by_role("button", name="Save credential")).to_be_disabled()
    expect(page.get_by_role("region", name="Past scrapes")).to_be_visible()


def test_header_credentials_and_incomplete_ones(web: Session) -> None:
    web.login("admin")
    page = _open_docs(web)
    form = page.get_by_role("form", name="Add a credential")
    form.get_by_label("Name", exact=True).fill("half-basic")
    form.get_by_label("Host", exact=True).fill("docs.example.com")
    form.get_by_label("Username").fill("reader")
    form.get_by_role("button", name="Save credential").click()
    expect(form.get_by_role("alert")).to_have_text(
        "Value error, basic auth needs username and password"
    )

    form.get_by_label("Kind").select_option("headers")
    expect(form.get_by_label("Username")).to_be_hidden()
    form.get_by_label("Header name").fill("X-Api-Key")
    form.get_by_label("Header value").fill(SECRET)
    form.get_by_label("Cookie name").fill("session")
    form.get_by_label("Cookie value").fill(SECRET)
    form.get_by_role("button", name="Add cookie").click()
    expect(form.get_by_label("Cookie 2 name")).to_be_focused()
    form.get_by_label("Cookie 2 name").fill("theme")
    form.get_by_label("Cookie 2 value").fill("dark")
    for value in form.locator("input[id*=value]").all():
        expect(value).to_have_attribute("type", "password")
    form.get_by_role("button", name="Save credential").click()
    row = page.get_by_role("region", name="Stored credentials").locator("li", has_text="half-basic")
    expect(row).to_contain_text("header X-Api-Key, cookie session, cookie theme")
    expect(form.get_by_label("Kind")).to_have_value("basic")
    expect(form.get_by_label("Cookie 2 name")).to_have_count(0)
    assert SECRET not in page.content()
