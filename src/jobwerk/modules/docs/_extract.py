"""Main-content extraction from documentation pages: pure functions on lxml trees, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree, html
from lxml.cssselect import CSSSelector, SelectorError

from ._urls import absolute_url

# Documentation-theme containers first, then generic ones (the ladder of the design notes).
_CONTENT_XPATHS = (
    "//article[contains(@class,'md-content__inner')]",  # MkDocs Material
    "//div[contains(@class,'theme-doc-markdown')]",  # Docusaurus
    "//article//div[contains(concat(' ',@class,' '),' markdown ')]",  # Docusaurus (older)
    "//div[@itemprop='articleBody']",  # Sphinx RTD theme
    "//div[@role='main' and contains(@class,'document')]",  # Sphinx RTD
    "//div[contains(concat(' ',@class,' '),' body ') and @role='main']",  # Sphinx basic/alabaster
    "//div[contains(concat(' ',@class,' '),' body ')]",
    "//div[@role='main']",  # MkDocs default theme, Sphinx variants
    "//main//article",
    "//main",
    "//article",
    "//*[@role='main']",
    "//*[@id='content']",
    "//*[contains(concat(' ',@class,' '),' content ')]",
)

_ALWAYS_REMOVE = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "button",
    "form",
    "input",
    "select",
    "textarea",
    "nav",
    "footer",
    "aside",
    "dialog",
)
_BOILERPLATE_XPATH = (
    "//*[contains(concat(' ',@class,' '),' headerlink ')"
    " or contains(concat(' ',@class,' '),' hash-link ')"
    " or contains(@class,'md-content__button') or contains(@class,'theme-edit-this-page')"
    " or contains(@class,'edit-this-page') or contains(@class,'md-source-file')"
    " or contains(@class,'pagination-nav') or contains(@class,'sphinxsidebar')"
    " or contains(@class,'rst-footer-buttons') or contains(@class,'wy-breadcrumbs')"
    " or contains(@class,'copybtn') or contains(@class,'md-clipboard')"
    " or contains(@class,'related') and @role='navigation'"
    " or @role='navigation' or @role='search' or @aria-hidden='true' or @hidden]"
    " | //a[normalize-space(.)='¶' or normalize-space(.)='#'][ancestor::*[self::h1 or self::h2"
    " or self::h3 or self::h4 or self::h5 or self::h6 or self::dt]]"
    " | //a[normalize-space(translate(.,'EDITHSPAG','edithspag'))='edit this page']"
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_WHITESPACE = re.compile(r"\s+")
_TITLE_SUFFIX = re.compile(r"\s+(?:[—–|·-]|::)\s+[^—–|·]*$")


@dataclass
class ExtractedPage:
    """The parts of a page the crawler and the Markdown converter need."""

    title: str
    content: html.HtmlElement | None
    links: list[str]
    canonical: str | None
    noindex: bool
    nofollow: bool
    looks_like_spa: bool


def decode_html(body: bytes, header_charset: str | None) -> str:
    """Decode an HTML body: header charset, then ``<meta charset>``, then UTF-8, then cp1252."""
    candidates: list[str] = []
    if header_charset:
        candidates.append(header_charset)
    match = _META_CHARSET.search(body[:4096])
    if match:
        candidates.append(match.group(1).decode("ascii", errors="ignore"))
    for charset in [*candidates, "utf-8"]:
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", errors="replace")


def parse_html(text: str) -> html.HtmlElement:
    """Parse HTML text into an lxml tree (never raises on junk)."""
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    if not text.strip():
        return html.fromstring("<html><body></body></html>")
    try:
        return html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return html.fromstring("<html><body></body></html>")


def extract_page(text: str, url: str, *, content_selector: str | None = None) -> ExtractedPage:
    """Find the links, metadata and cleaned main content of one HTML page."""
    root = parse_html(text)
    robots_meta = " ".join(root.xpath("//meta[@name='robots']/@content")).lower()
    base_href = root.xpath("//base/@href")
    base = absolute_url(url, str(base_href[0])) if base_href else None
    base = base or url
    links: list[str] = []
    if "nofollow" not in robots_meta:
        for href in root.xpath("//a[@href][not(starts-with(@href,'#'))]/@href"):
            absolute = absolute_url(base, str(href))
            if absolute:
                links.append(absolute)
    canonical_href = root.xpath("//link[@rel='canonical']/@href")
    canonical = absolute_url(base, str(canonical_href[0])) if canonical_href else None
    content = find_content(root, content_selector)
    if content is not None:
        clean_content(content)
        content.make_links_absolute(base, resolve_base_href=False)
    title = page_title(root, content)
    return ExtractedPage(
        title=title,
        content=content if content is not None and has_text(content) else None,
        links=links,
        canonical=canonical,
        noindex="noindex" in robots_meta,
        nofollow="nofollow" in robots_meta,
        looks_like_spa=looks_like_spa(root),
    )


def find_content(root: html.HtmlElement, selector: str | None) -> html.HtmlElement | None:
    """The main-content element: override selector, theme containers, generic, densest block."""
    if selector:
        try:
            matches: list[object] = CSSSelector(selector)(root)  # type: ignore[assignment]
        except (SelectorError, etree.XPathError):
            matches = []
        if matches:
            return _as_element(matches[0])
    for xpath in _CONTENT_XPATHS:
        found = root.xpath(xpath)
        if found and has_text(found[0]):
            return _as_element(found[0])
    return _densest_block(root)


def _as_element(node: object) -> html.HtmlElement | None:
    return node if isinstance(node, html.HtmlElement) else None


def _densest_block(root: html.HtmlElement) -> html.HtmlElement | None:
    """Fallback: the ``div``/``section``/``body`` holding the most paragraph and code text."""
    body = root.find("body")
    if body is None:
        return None
    for el in list(body.iter(*_ALWAYS_REMOVE)):
        if el.getparent() is not None:
            el.drop_tree()
    best: html.HtmlElement | None = None
    best_score = 0
    for candidate in body.iter("div", "section", "td"):
        score = sum(len(p.text_content()) for p in candidate.iterchildren("p", "pre", "table"))
        if score > best_score:
            best, best_score = candidate, score
    return best if best is not None and best_score >= 80 else body


def clean_content(content: html.HtmlElement) -> None:
    """Remove boilerplate inside the content element and normalise code blocks, in place."""
    for el in list(content.iter(*_ALWAYS_REMOVE)):
        if el is not content and el.getparent() is not None:
            el.drop_tree()
    for el in content.xpath("." + _BOILERPLATE_XPATH.replace(" | //", " | .//")):
        if el is not content and el.getparent() is not None:
            el.drop_tree()
    for table in content.xpath(".//table[contains(@class,'highlighttable')]"):
        _unwrap_linenos_table(table)
    for lineno in content.xpath(".//pre//span[contains(@class,'linenos')]"):
        lineno.drop_tree()
    for br in content.xpath(".//pre//br"):
        br.tail = "\n" + (br.tail or "")
        br.drop_tag()


def _unwrap_linenos_table(table: html.HtmlElement) -> None:
    """Sphinx/Pygments ``table.highlighttable``: keep only the code cell's ``pre``."""
    pre = table.xpath(".//td[contains(@class,'code')]//pre")
    parent = table.getparent()
    if not pre or parent is None:
        return
    code_div = pre[0].getparent()
    replacement = code_div if code_div is not None and code_div.tag == "div" else pre[0]
    table.addprevious(replacement)
    table.drop_tree()


def page_title(root: html.HtmlElement, content: html.HtmlElement | None) -> str:
    """The page's title: its first ``h1``, else ``<title>`` without the site suffix."""
    for scope in (content, root):
        if scope is None:
            continue
        headings = scope.xpath(".//h1")
        if headings:
            text = _WHITESPACE.sub(" ", headings[0].text_content()).strip(" ¶#")
            if text:
                return text
    titles = root.xpath("//title/text()")
    if titles:
        text = _WHITESPACE.sub(" ", str(titles[0])).strip()
        return _TITLE_SUFFIX.sub("", text) or text
    return ""


def has_text(element: html.HtmlElement) -> bool:
    """Whether the element carries visible text or images."""
    return bool(element.text_content().strip()) or bool(element.xpath(".//img"))


def looks_like_spa(root: html.HtmlElement) -> bool:
    """Heuristic: an app shell with almost no text means the content needs JavaScript."""
    body = root.find("body")
    text = body.text_content().strip() if body is not None else ""
    shell = bool(root.xpath("//*[@id='root' or @id='__next' or @id='app' or @id='__nuxt']"))
    next_data = bool(root.xpath("//script[@id='__NEXT_DATA__']"))
    return (shell or next_data) and len(text) < 200
