"""Main-content extraction from documentation pages: pure functions on lxml trees, no I/O."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from lxml import etree
from lxml.cssselect import CSSSelector, SelectorError

from ._tree import drop_tag, drop_tree, elements, parse_html, strings, text_content
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
# Boilerplate inside the content, matched in one pass over the elements' attributes (an XPath
# with a dozen ``contains()`` per element costs several times as much on long API pages): the
# class tokens ``headerlink``/``hash-link``, or any of the class fragments.
_BOILERPLATE_CLASS = re.compile(
    r"(?:^| )(?:headerlink|hash-link)(?: |\Z)|md-content__button|theme-edit-this-page"
    r"|edit-this-page|md-source-file|pagination-nav|sphinxsidebar|rst-footer-buttons"
    r"|wy-breadcrumbs|copybtn|md-clipboard"
)
_BOILERPLATE_ROLES = frozenset({"navigation", "search"})
_BOILERPLATE_LINKS = etree.XPath(
    ".//a[normalize-space(.)='¶' or normalize-space(.)='#'][ancestor::*[self::h1 or self::h2"
    " or self::h3 or self::h4 or self::h5 or self::h6 or self::dt]]"
    " | .//a[normalize-space(translate(.,'EDITHSPAG','edithspag'))='edit this page']"
)
_THEME_XPATHS = _CONTENT_XPATHS[:11]  # matched in one pass by ``_theme_containers``
_GENERIC_PATHS = tuple(etree.XPath(xpath) for xpath in _CONTENT_XPATHS[11:])
_LINK_ATTRIBUTES = etree.XPath("descendant-or-self::*/@href | descendant-or-self::*/@src")
_HIGHLIGHT_TABLES = etree.XPath(".//table[contains(@class,'highlighttable')]")
_CODE_CELL_PRE = etree.XPath(".//td[contains(@class,'code')]//pre")
_TITLE_TEXT = etree.XPath("//title/text()", smart_strings=False)
_APP_SHELL = etree.XPath("//*[@id='root' or @id='__next' or @id='app' or @id='__nuxt']")
_NEXT_DATA = etree.XPath("//script[@id='__NEXT_DATA__']")
_URL_REMOVED = frozenset("\t\r\n")  # characters urlsplit deletes anywhere in a URL
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_WHITESPACE = re.compile(r"\s+")
_TITLE_SUFFIX = re.compile(r"\s+(?:[—–|·-]|::)\s+[^—–|·]*$")


@dataclass
class ExtractedPage:
    """The parts of a page the crawler and the Markdown converter need."""

    title: str
    content: etree._Element | None
    links: list[str]
    canonical: str | None
    noindex: bool
    nofollow: bool
    document: etree._Element

    @property
    def looks_like_spa(self) -> bool:
        """Whether the page is an app shell that needs JavaScript (checked on demand)."""
        return looks_like_spa(self.document)


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


def extract_page(text: str, url: str, *, content_selector: str | None = None) -> ExtractedPage:
    """Find the links, metadata and cleaned main content of one HTML page."""
    root = parse_html(text)
    found = _references(root)
    robots_meta = " ".join(found.robots).lower()
    base = absolute_url(url, found.bases[0]) if found.bases else None
    base = base or url
    links: list[str] = []
    if "nofollow" not in robots_meta:
        for href in found.hrefs:
            absolute = absolute_url(base, href)
            if absolute:
                links.append(absolute)
    canonical = absolute_url(base, found.canonicals[0]) if found.canonicals else None
    content = find_content(root, content_selector)
    if content is not None:
        clean_content(content)
        make_links_absolute(content, base)
    title = page_title(root, content)
    return ExtractedPage(
        title=title,
        content=content if content is not None and has_text(content) else None,
        links=links,
        canonical=canonical,
        noindex="noindex" in robots_meta,
        nofollow="nofollow" in robots_meta,
        document=root,
    )


@dataclass
class _References:
    robots: list[str]  # //meta[@name='robots']/@content
    bases: list[str]  # //base/@href
    hrefs: list[str]  # //a[@href][not(starts-with(@href,'#'))]/@href
    canonicals: list[str]  # //link[@rel='canonical']/@href


def _references(root: etree._Element) -> _References:
    """The document's robots metadata, base, links and canonical URL, in one pass."""
    found = _References([], [], [], [])
    for el in root.iter("a", "meta", "base", "link"):
        tag = el.tag
        if tag == "a":
            href = el.get("href")
            if href is not None and not href.startswith("#"):
                found.hrefs.append(href)
        elif tag == "meta":
            content = el.get("content")
            if content is not None and el.get("name") == "robots":
                found.robots.append(content)
        elif tag == "base":
            href = el.get("href")
            if href is not None:
                found.bases.append(href)
        else:
            href = el.get("href")
            if href is not None and el.get("rel") == "canonical":
                found.canonicals.append(href)
    return found


def find_content(root: etree._Element, selector: str | None) -> etree._Element | None:
    """The main-content element: override selector, theme containers, generic, densest block."""
    if selector:
        try:
            matches: list[object] = CSSSelector(selector)(root)  # type: ignore[assignment]
        except (SelectorError, etree.XPathError):
            matches = []
        if matches:
            return _as_element(matches[0])
    for candidate in _theme_containers(root):
        if candidate is not None and has_text(candidate):
            return candidate
    for xpath in _GENERIC_PATHS:
        found = elements(xpath, root)
        if found and has_text(found[0]):
            return found[0]
    return _densest_block(root)


def _theme_containers(root: etree._Element) -> list[etree._Element | None]:
    """The first match of each ``article``/``div``/``main`` step of the ladder, in one pass.

    Entry ``i`` is the first element ``_CONTENT_XPATHS[i]`` selects (None if none); the steps
    matching any element follow as ``_GENERIC_PATHS``.
    """
    first: list[etree._Element | None] = [None] * len(_THEME_XPATHS)

    def take(index: int, el: etree._Element) -> None:
        if first[index] is None:
            first[index] = el

    for el in root.iter("article", "div", "main"):
        classes = el.get("class") or ""
        padded = f" {classes} "
        if el.tag == "div":
            role = el.get("role")
            if "theme-doc-markdown" in classes:
                take(1, el)
            if " markdown " in padded and next(el.iterancestors("article"), None) is not None:
                take(2, el)
            if el.get("itemprop") == "articleBody":
                take(3, el)
            if role == "main" and "document" in classes:
                take(4, el)
            if " body " in padded:
                take(6, el)
                if role == "main":
                    take(5, el)
            if role == "main":
                take(7, el)
        elif el.tag == "article":
            if "md-content__inner" in classes:
                take(0, el)
            if next(el.iterancestors("main"), None) is not None:
                take(8, el)
            take(10, el)
        else:
            take(9, el)
    return first


def _as_element(node: object) -> etree._Element | None:
    if isinstance(node, etree._Element) and isinstance(node.tag, str):
        return node
    return None


def _densest_block(root: etree._Element) -> etree._Element | None:
    """Fallback: the ``div``/``section``/``body`` holding the most paragraph and code text."""
    body = root.find("body")
    if body is None:
        return None
    for el in list(body.iter(*_ALWAYS_REMOVE)):
        if el.getparent() is not None:
            drop_tree(el)
    best: etree._Element | None = None
    best_score = 0
    for candidate in body.iter("div", "section", "td"):
        score = sum(len(text_content(p)) for p in candidate.iterchildren("p", "pre", "table"))
        if score > best_score:
            best, best_score = candidate, score
    return best if best is not None and best_score >= 80 else body


def clean_content(content: etree._Element) -> None:
    """Remove boilerplate inside the content element and normalise code blocks, in place."""
    for el in list(content.iter(*_ALWAYS_REMOVE)):
        if el is not content and el.getparent() is not None:
            drop_tree(el)
    # Both sets are found before anything is dropped: removing one element can change
    # whether another matches (the text of a permalink, for instance).
    found = dict.fromkeys(_boilerplate(content))
    found.update(dict.fromkeys(elements(_BOILERPLATE_LINKS, content)))
    for el in found:
        if el is not content and el.getparent() is not None:
            drop_tree(el)
    for table in elements(_HIGHLIGHT_TABLES, content):
        _unwrap_linenos_table(table)
    for lineno in _inside_pre(content, "span"):
        if "linenos" in (lineno.get("class") or ""):
            drop_tree(lineno)
    for br in _inside_pre(content, "br"):
        br.tail = "\n" + (br.tail or "")
        drop_tag(br)


def _boilerplate(content: etree._Element) -> list[etree._Element]:
    """Elements marked as chrome by class, role, ``aria-hidden`` or ``hidden``."""
    found: list[etree._Element] = []
    for el in content.iter(etree.Element):
        for name, value in el.items():  # one call for all attributes, most elements have one
            if (
                (name == "class" and _boilerplate_class(value))
                or (name == "role" and value in _BOILERPLATE_ROLES)
                or (name == "aria-hidden" and value == "true")
                or name == "hidden"
            ):
                found.append(el)
                break
    return found


@functools.lru_cache(maxsize=4096)
def _boilerplate_class(value: str) -> bool:
    """Whether a class attribute marks chrome (few distinct values repeat on every page)."""
    return _BOILERPLATE_CLASS.search(value) is not None


def _inside_pre(content: etree._Element, tag: str) -> list[etree._Element]:
    """``.//pre//{tag}`` in document order, each element once (``pre`` may nest)."""
    found: dict[etree._Element, None] = {}
    for pre in content.iter("pre"):
        for el in pre.iter(tag):
            if el is not pre:
                found[el] = None
    return list(found)


def make_links_absolute(content: etree._Element, base: str) -> None:
    """Resolve every ``href`` and ``src`` against ``base``, as lxml.html would (not in objects)."""
    here: str | None = None  # ``base`` as ``urljoin`` returns it for a bare "#"
    result = _LINK_ATTRIBUTES(content)
    assert isinstance(result, list)
    for value in result:
        assert isinstance(value, etree._ElementUnicodeResult)
        el = value.getparent()
        if el is None or el.tag == "object":
            continue
        link = value.strip()
        if link.startswith("#") and len(link) > 1 and not _URL_REMOVED.intersection(link):
            # urljoin(base, "#x") is urljoin(base, "#") + "#x": skip re-parsing both.
            here = urljoin(base, "#") if here is None else here
            joined = here + link
        else:
            joined = urljoin(base, link)
        if joined != value:
            el.set(str(value.attrname), joined)


def _unwrap_linenos_table(table: etree._Element) -> None:
    """Sphinx/Pygments ``table.highlighttable``: keep only the code cell's ``pre``."""
    pre = elements(_CODE_CELL_PRE, table)
    parent = table.getparent()
    if not pre or parent is None:
        return
    code_div = pre[0].getparent()
    replacement = code_div if code_div is not None and code_div.tag == "div" else pre[0]
    table.addprevious(replacement)
    drop_tree(table)


def page_title(root: etree._Element, content: etree._Element | None) -> str:
    """The page's title: its first ``h1``, else ``<title>`` without the site suffix."""
    for scope in (content, root):
        if scope is None:
            continue
        heading = scope.find(".//h1")
        if heading is not None:
            text = _WHITESPACE.sub(" ", text_content(heading)).strip(" ¶#")
            if text:
                return text
    titles = strings(_TITLE_TEXT, root)
    if titles:
        text = _WHITESPACE.sub(" ", titles[0]).strip()
        return _TITLE_SUFFIX.sub("", text) or text
    return ""


def has_text(element: etree._Element) -> bool:
    """Whether the element carries visible text or images."""
    return bool(text_content(element).strip()) or element.find(".//img") is not None


def looks_like_spa(root: etree._Element) -> bool:
    """Heuristic: an app shell with almost no text means the content needs JavaScript."""
    if not (elements(_APP_SHELL, root) or elements(_NEXT_DATA, root)):
        return False
    body = root.find("body")
    return len(text_content(body).strip() if body is not None else "") < 200
