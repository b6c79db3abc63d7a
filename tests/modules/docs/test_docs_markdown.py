"""HTML → Markdown on hand-written theme snippets (pure functions, no I/O)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jobwerk.modules.docs.scraper import (
    ExportFormat,
    ScrapeSettings,
    extract_page,
    html_to_markdown,
    markdown_to_html,
    normalize_url,
    scrape,
)
from tests.support.docs import make_request


def convert(body: str, url: str = "https://docs.example.org/guide/page.html") -> str:
    page = extract_page(f"<html><body><main>{body}</main></body></html>", url)
    assert page.content is not None
    return html_to_markdown(page.content)


def test_docusaurus_prism_lines_with_br_and_admonition() -> None:
    markdown = convert(
        '<div class="language-ts codeBlockContainer"><pre class="prism-code">'
        "<code>const a = 1;<br>const b = 2;<br></code></pre>"
        '<button aria-label="Copy">Copy</button></div>'
        '<div class="theme-admonition alert"><div class="admonitionHeading_x">tip</div>'
        '<div class="admonitionContent_x"><p>Use it.</p></div></div>'
    )
    assert "```ts\nconst a = 1;\nconst b = 2;\n```" in markdown
    assert "Copy" not in markdown
    assert "> **tip:** Use it." in markdown


def test_complex_table_stays_html_and_pipes_escaped() -> None:
    markdown = convert(
        '<table class="x"><tr><th colspan="2">wide</th></tr><tr><td>a</td><td>b</td></tr></table>'
        "<table><tr><td>x|y</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>"
    )
    assert '<table><tr><th colspan="2">wide</th></tr>' in markdown
    assert "| x\\|y | 2 |\n| --- | --- |\n| 3 | 4 |" in markdown


def test_fences_longer_than_inner_backticks_and_images_absolute() -> None:
    markdown = convert(
        '<pre><code class="language-markdown">```py\nx\n```</code></pre>'
        '<p><img src="../img/a.png" alt="A [b]"></p>'
    )
    assert "````markdown\n```py\nx\n```\n````" in markdown
    assert "![A \\[b\\]](https://docs.example.org/img/a.png)" in markdown


def test_material_tabs_keep_labels() -> None:
    markdown = convert(
        '<div class="tabbed-set"><div class="tabbed-labels"><label>pip</label><label>uv</label>'
        '</div><div class="tabbed-content"><div class="tabbed-block">'
        '<pre><code class="language-sh">pip install x</code></pre></div>'
        '<div class="tabbed-block"><pre><code class="language-sh">'
        "uv add x</code></pre></div></div></div>"
    )
    assert "**pip**\n\n```sh\npip install x\n```\n\n**uv**\n\n```sh\nuv add x\n```" in markdown


def test_script_text_never_leaks() -> None:
    markdown = convert("<p>Hi</p><script>var secret=1;</script><nav>Menu</nav>")
    assert markdown == "Hi\n"


def test_normalize_url() -> None:
    assert normalize_url("HTTP://Docs.Example.org:80/a/./b/index.html#x") == (
        "http://docs.example.org/a/b"
    )
    assert normalize_url("https://d.org/a/?utm_source=x&b=2&a=1", keep_query=True) == (
        "https://d.org/a?a=1&b=2"
    )
    assert normalize_url("https://d.org/a/?page=2") == "https://d.org/a"


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
async def test_pdf_export_and_js_rendering(
    site_url: str, loopback: ScrapeSettings, tmp_path: Path
) -> None:
    request = make_request(f"{site_url}/sphinx/", render_js=True, max_pages=3)
    request.export_formats = [ExportFormat.PDF]
    result = await scrape(request, tmp_path, loopback, base_name="widget")
    assert len(result.crawl.pages) == 3
    pages = [f.path.read_text() for f in result.files if f.format == "page-markdown"]
    assert any("```python" in page for page in pages)
    pdf = next(f for f in result.files if f.format == "pdf")
    assert pdf.content_type == "application/pdf"
    assert pdf.path.read_bytes().startswith(b"%PDF")


def test_tildes_in_text_open_no_code_fence() -> None:
    markdown = convert("<p>~~~</p><p>Still text.</p>")
    assert markdown == "\\~~~\n\nStill text.\n"
    assert "<p>Still text.</p>" in markdown_to_html(markdown, "t")
