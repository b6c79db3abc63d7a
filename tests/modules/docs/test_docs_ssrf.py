"""SSRF guard: refused targets, also after redirects and DNS resolution."""

from __future__ import annotations

import ipaddress

import pytest

from jobwerk.modules.docs._fetch import Fetcher
from jobwerk.modules.docs.scraper import (
    ScrapeRequest,
    ScrapeSettings,
    SSRFGuard,
    UnsafeTarget,
    crawl,
    estimate_scrape,
    is_public,
    validate_target,
)
from tests.support.docs import make_request


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
        "fd00:ec2::254",
        "0.0.0.0",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


def test_public_address() -> None:
    assert is_public(ipaddress.ip_address("93.184.215.14"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "file:///etc/passwd",
        "http://user:pw@example.org/",
        "http://example.org:8080/",
    ],
)
async def test_guard_refuses(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        await SSRFGuard(ScrapeSettings()).resolve(url)


async def test_allow_list_admits_only_listed() -> None:
    guard = SSRFGuard(ScrapeSettings.allowing("127.0.0.1"))
    assert str(await guard.resolve("http://127.0.0.1:8000/")) == "127.0.0.1"
    with pytest.raises(UnsafeTarget):
        await guard.resolve("http://127.0.0.2:8000/")
    metadata = SSRFGuard(ScrapeSettings.allowing("169.254.0.0/16"))
    with pytest.raises(UnsafeTarget):
        await metadata.resolve("http://169.254.169.254/")


async def test_crawl_refuses_loopback_without_allow_list(site_url: str) -> None:
    with pytest.raises(UnsafeTarget):
        await crawl(make_request(f"{site_url}/sphinx/"), ScrapeSettings())


async def test_redirect_to_private_is_refused(site_url: str) -> None:
    settings = ScrapeSettings.allowing("localhost")
    port = site_url.rsplit(":", 1)[1]
    async with Fetcher(
        settings, user_agent="t", timeout=5, rate_limit=20, concurrency=1
    ) as fetcher:
        with pytest.raises(UnsafeTarget, match=r"127\.0\.0\.1"):
            await fetcher.get(f"http://localhost:{port}/edge/redirect-private.html")
        with pytest.raises(UnsafeTarget, match=r"169\.254\.169\.254"):
            await fetcher.get(f"http://localhost:{port}/edge/redirect-metadata.html")
        response = await fetcher.get(f"http://localhost:{port}/edge/redirect-in.html")
        assert response.final_url.endswith("/edge/target.html")


async def test_validate_and_estimate(site_url: str, loopback: ScrapeSettings) -> None:
    refused = await validate_target(make_request(f"{site_url}/sphinx/"), ScrapeSettings())
    assert not refused.valid and "refused" in refused.warnings[0]
    report = await validate_target(make_request(f"{site_url}/edge/"), loopback)
    assert report.valid and report.reachable and report.robots_allowed
    assert report.sitemap_urls == 1
    estimate = await estimate_scrape(make_request(f"{site_url}/sphinx/"), loopback)
    assert estimate.basis == "link_sampling"
    assert 4 <= estimate.estimated_pages <= 20
    assert estimate.estimated_duration_seconds > 0
    blocked = await validate_target(make_request(f"{site_url}/edge/private/x.html"), loopback)
    assert not blocked.valid and blocked.robots_allowed is False


def test_request_model_bounds() -> None:
    with pytest.raises(ValueError):
        ScrapeRequest.model_validate({"url": "ftp://example.org/"})
    with pytest.raises(ValueError):
        ScrapeRequest.model_validate({"url": "https://example.org/", "options": {"max_pages": 0}})
    with pytest.raises(ValueError):
        ScrapeRequest.model_validate({"url": "https://u:p@example.org/"})
    request = ScrapeRequest.model_validate(
        {"url": "https://example.org/docs/", "export_formats": ["pdf", "markdown", "pdf"]}
    )
    assert [f.value for f in request.export_formats] == ["pdf", "markdown"]
    assert request.options.respect_robots
