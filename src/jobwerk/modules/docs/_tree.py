"""lxml helpers of the extraction and the converter: parsing, text, removing nodes.

Plain ``etree`` elements throughout, not ``lxml.html``'s: their class lookup runs Python code for
every element touched, a third of the conversion time on long pages. The helpers reproduce the
``lxml.html`` methods the scraper used exactly.
"""

from __future__ import annotations

import re

from lxml import etree

_PARSER = etree.HTMLParser()
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")


def parse_html(text: str) -> etree._Element:
    """Parse HTML text into an lxml tree (never raises on junk)."""
    text = _XML_DECLARATION.sub("", text)
    if not text.strip():
        return _empty_document()
    try:
        root = etree.fromstring(text, _PARSER)
    except (etree.ParserError, ValueError):
        return _empty_document()
    return _empty_document() if root is None else root


def _empty_document() -> etree._Element:
    return etree.fromstring("<html><body></body></html>", _PARSER)


def text_content(element: etree._Element) -> str:
    """The text of an element and its descendants, as ``lxml.html``'s ``text_content()``.

    libxml2's text serialisation gives the same string as the XPath ``string()`` that
    ``lxml.html`` evaluates, several times faster.
    """
    return etree.tostring(element, method="text", encoding="unicode", with_tail=False)


def drop_tree(el: etree._Element) -> None:
    """Remove ``el`` and its children; its tail text stays (``lxml.html``'s ``drop_tree``)."""
    parent = el.getparent()
    assert parent is not None
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)


def drop_tag(el: etree._Element) -> None:
    """Remove the tag of ``el`` but keep its text and children (``lxml.html``'s ``drop_tag``)."""
    parent = el.getparent()
    assert parent is not None
    previous = el.getprevious()
    if el.text and isinstance(el.tag, str):
        if previous is None:
            parent.text = (parent.text or "") + el.text
        else:
            previous.tail = (previous.tail or "") + el.text
    if el.tail:
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + el.tail
        elif previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    index = parent.index(el)
    children = list(el)
    parent.remove(el)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)


def elements(xpath: etree.XPath, node: etree._Element) -> list[etree._Element]:
    """The elements a compiled XPath selects (``lxml``'s result type is a wide union)."""
    result = xpath(node)
    assert isinstance(result, list)
    return [item for item in result if isinstance(item, etree._Element)]


def strings(xpath: etree.XPath, node: etree._Element) -> list[str]:
    """The attribute values or text nodes a compiled XPath selects, as plain strings."""
    result = xpath(node)
    assert isinstance(result, list)
    return [str(item) for item in result]
