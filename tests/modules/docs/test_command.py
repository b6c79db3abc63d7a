"""``jobwerk scrape``: exit codes and one plain line per problem, against the loopback site."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jobwerk.modules.docs.command import scrape

app = typer.Typer()
app.command()(scrape)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_operator_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # DocsSettings reads a .env from the working directory
    monkeypatch.delenv("JOBWERK_DOCS__ALLOW_HOSTS", raising=False)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def scrape_loopback(url: str, output: Path) -> tuple[int, str]:
    return invoke(url, "-o", str(output), "--allow-host", "127.0.0.1", "--rate-limit", "20")


def test_nothing_scraped_exits_1_and_says_why_per_page(site_url: str, tmp_path: Path) -> None:
    cases = {
        f"{site_url}/sphinx/missing.html": ("failed", "HTTP 404"),
        f"{site_url}/edge/private/secret.html": ("skipped", "robots"),
        f"{site_url}/sphinx/manual.pdf": ("skipped", "non_html"),
    }
    for url, (outcome, reason) in cases.items():
        code, output = scrape_loopback(url, tmp_path / "out.md")
        assert code == 1, output
        assert f"\n  {outcome}: {url} ({reason})\n" in output
        assert output.endswith("Error: no page was scraped\n")


def test_unknown_output_suffix_is_refused_before_crawling(tmp_path: Path) -> None:
    # Without --allow-host a loopback crawl would be refused with exit code 1.
    for name, suffix in (("guide.docx", ".docx"), ("guide", "(none)")):
        code, output = invoke("http://127.0.0.1:9/docs/", "-o", str(tmp_path / name))
        assert code == 2
        assert (
            output == f"Error: --output: unsupported suffix {suffix}; use .md, .json, .html, .pdf\n"
        )
    assert not list(tmp_path.iterdir()), "nothing written"


def test_invalid_options_are_one_plain_line_each(tmp_path: Path) -> None:
    output_file = str(tmp_path / "guide.md")
    options = [
        "--max-pages",
        "0",
        "--max-depth",
        "-1",
        "--rate-limit",
        "0.05",
        "--concurrency",
        "0",
    ]
    code, output = invoke("https://user:pw@docs.example.org/", "-o", output_file, *options)
    assert code == 2
    assert output.splitlines() == [
        "Error: URL: credentials inside the URL are not accepted",
        "Error: --max-depth: must be at least 0",
        "Error: --max-pages: must be at least 1",
        "Error: --rate-limit: must be 0 (no limit) or at least 0.1",
        "Error: --concurrency: must be at least 1",
    ]
    code, output = invoke("not a url", "-o", output_file)
    assert (code, output) == (
        2,
        "Error: URL: Input should be a valid URL, relative URL without a base\n",
    )


def test_an_allow_listed_host_takes_no_rate_limit(site_url: str, tmp_path: Path) -> None:
    output_file = str(tmp_path / "gadget.md")
    options = ["--allow-host", "127.0.0.1", "--rate-limit", "0", "--concurrency", "64"]
    code, output = invoke(f"{site_url}/mkdocs/", "-o", output_file, *options)
    assert code == 0, output
    assert "\n4 pages, 0 failed, 0 skipped\n" in output
