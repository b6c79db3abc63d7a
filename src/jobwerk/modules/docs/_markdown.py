"""HTML → GitHub-flavoured Markdown for documentation content: a pure function on lxml trees.

Own converter instead of markdownify: the tree is already parsed by lxml (no second BeautifulSoup
parse), and the documented markdownify traps (code language, ``<br>`` in ``pre``, Pygments line
number tables, pipes in cells, row/colspan, admonitions, tabs) all need custom handling anyway.
"""

from __future__ import annotations

import copy
import re

from lxml import etree

from ._tree import drop_tree, elements, text_content

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "ul",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title", "meta"})
_LANG_CLASS = re.compile(
    r"(?:^|\s)(?:language|lang|highlight|brush:?)-?([A-Za-z0-9_+#.-]+)|(?:^|\s)sourceCode\s+(\w+)"
)
_NOT_LANGUAGES = frozenset({"", "notranslate", "highlight", "hljs", "source", "chroma"})
_LANG_ALIASES = {"default": "python", "python3": "python", "none": "text", "py": "python"}
_ESCAPE = re.compile(r"([\\`*_\[\]<])")
_escape = _ESCAPE.sub
# Text that Markdown would read as a heading, quote, list item or (~~~) code fence.
_LINE_START = re.compile(r"^(\s*)((?:[#>+-]|\d+[.)])(?=\s)|~(?=~~))", re.M)
_BR = "\x00"
_BR_GAP = re.compile(" ?\x00 ?")
_BLANKS = re.compile(r"[ \t\r\n]+")
_SPACES = re.compile(r"\s+")
_BACKTICKS = re.compile(r"`+")
_FENCE_RUN = re.compile(r"^\s*(`{3,})", re.M)
_NEEDS_BRACKETS = re.compile(r"[\s()<>]")
_CELL_PIPE = re.compile(r"(?<!\\)\|")
_EMPTY_LINES = re.compile(r"\n\s*\n")
_LIST_START = re.compile(r"(?:-|\d+\.) ")
_ADMONITION_CLASSES = ("admonition", "theme-admonition", "alert")
_ADMONITION_TAGS = frozenset({"div", "details", "aside", "section"})
_HEADINGS = {"h1": "#", "h2": "##", "h3": "###", "h4": "####", "h5": "#####", "h6": "######"}
_CODE_TAGS = frozenset({"code", "kbd", "samp", "tt"})
_EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*", "cite": "*", "var": "*"}
_STRUCK = frozenset({"del", "s", "strike"})
_INLINE_SPECIAL = _SKIP_TAGS | _CODE_TAGS | _STRUCK | _BLOCK_TAGS | {"br", "img", "a", *_EMPHASIS}
_ROWS = etree.XPath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
_CELLS = etree.XPath("./th | ./td")
_ALL_CELLS = etree.XPath(".//td | .//th")
_CELL_BLOCKS = etree.XPath(".//table | .//pre | .//ul | .//ol | .//dl | .//blockquote")
_CELL_PARAGRAPHS = etree.XPath("./p | ./div")
_ADMONITION_TITLE = etree.XPath(
    "./*[contains(@class,'admonition-title') or contains(@class,'admonitionHeading')"
    " or self::summary][1]"
)
_TAB_LABELS = etree.XPath(".//*[contains(@class,'tabbed-labels')]/label | .//*[@role='tab']")
_TAB_PANELS = etree.XPath(".//*[contains(@class,'tabbed-block')] | .//*[@role='tabpanel']")


def html_to_markdown(element: etree._Element) -> str:
    """Convert a content element (links already absolute) to Markdown."""
    return "\n\n".join(_blocks(element)).strip() + "\n"


def _classes(el: etree._Element) -> str:
    return str(el.get("class") or "")


def _blocks(el: etree._Element) -> list[str]:
    """Render the children of ``el`` as a list of Markdown blocks."""
    out: list[str] = []
    buffer: list[str] = [_text(el.text)]
    for child in el:
        tail = child.tail
        if child.tag in _BLOCK_TAGS:  # admonitions are div/details/aside/section: blocks too
            _flush(buffer, out)
            out.extend(_block(child))
            buffer = [_escape(_escape_char, tail)] if tail else []
        else:
            buffer.append(_inline(child))
            if tail:
                buffer.append(_escape(_escape_char, tail))
    _flush(buffer, out)
    return [b for b in out if b.strip()]


def _flush(buffer: list[str], out: list[str]) -> None:
    text = "".join(buffer)
    buffer.clear()
    if text and not text.isspace():  # whitespace alone finishes as "" (strip() drops it all)
        text = _finish_inline(text)
        if text:
            out.append(_LINE_START.sub(_escape_line_start, text))


def _escape_line_start(match: re.Match[str]) -> str:
    return f"{match.group(1)}\\{match.group(2)}"


def _finish_inline(text: str) -> str:
    text = _BLANKS.sub(" ", text).strip()
    if _BR in text:
        text = _BR_GAP.sub("\\\\\n", text)
    return text.strip("\\\n ")


def _block(el: etree._Element) -> list[str]:
    tag = str(el.tag)
    if _is_admonition(el):
        return [_admonition(el)]
    if "tabbed-set" in _classes(el) or any(
        isinstance(child.tag, str) and child.get("role") == "tablist" for child in el
    ):
        tabs = _tabs(el)
        if tabs is not None:
            return tabs
    heading = _HEADINGS.get(tag)
    if heading is not None:
        text = _finish_inline(_inline_children(el))
        return [f"{heading} {text}"] if text else []
    if tag == "pre":
        return [_code_block(el)]
    if tag in ("ul", "ol"):
        return [_list(el)]
    if tag == "table":
        return _table(el)
    if tag == "blockquote":
        return [_quote("\n\n".join(_blocks(el)))]
    if tag == "hr":
        return ["---"]
    if tag in ("dt", "summary"):
        text = _finish_inline(_inline_children(el))
        return [f"**{text}**"] if text else []
    if tag == "figcaption":
        text = _finish_inline(_inline_children(el))
        return [f"*{text}*"] if text else []
    if tag == "div" and len(el) == 1 and el[0].tag == "pre":
        return [_code_block(el[0])]
    return _blocks(el)


def _text(text: str | None) -> str:
    return _escape(_escape_char, text) if text else ""


def _escape_char(match: re.Match[str]) -> str:
    return "\\" + match.group(1)


def _inline_children(el: etree._Element) -> str:
    text = el.text
    if not len(el):
        return _escape(_escape_char, text) if text else ""
    parts = [_escape(_escape_char, text)] if text else []
    for child in el:
        parts.append(_inline(child))
        tail = child.tail
        if tail:
            parts.append(_escape(_escape_char, tail))
    return "".join(parts)


def _inline(el: etree._Element) -> str:
    tag = el.tag
    if tag not in _INLINE_SPECIAL:  # span and the like: just their content
        return _inline_children(el) if isinstance(tag, str) else ""
    if tag in _SKIP_TAGS:
        return ""
    if tag == "br":
        return _BR
    if tag in _CODE_TAGS:
        return _inline_code(text_content(el))
    if tag == "img":
        return _image(el)
    inner = _inline_children(el)
    if tag == "a":
        return _link(el, inner)
    stripped = inner.strip()
    if not stripped:
        return inner
    marker = _EMPHASIS.get(tag)
    if marker is not None:
        styled = f"{marker}{stripped}{marker}"
        return f" {styled} " if inner != stripped else styled
    if tag in _STRUCK:
        return f"~~{stripped}~~"
    return f" {inner} "  # a block element inside inline content


def _inline_code(text: str) -> str:
    text = _SPACES.sub(" ", text)
    if not text.strip():
        return ""
    runs = [len(r) for r in _BACKTICKS.findall(text)] if "`" in text else []
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _link(el: etree._Element, inner: str) -> str:
    href = (el.get("href") or "").strip()
    text = inner.strip()
    if not href or href.startswith("javascript:"):
        return inner
    if not text:
        return ""
    target = f"<{href}>" if _NEEDS_BRACKETS.search(href) else href
    title = el.get("title")
    suffix = f' "{title.replace(chr(34), chr(39))}"' if title and title != text else ""
    return f"[{text}]({target}{suffix})"


def _image(el: etree._Element) -> str:
    src = (el.get("src") or el.get("data-src") or "").strip()
    alt = _SPACES.sub(" ", el.get("alt") or "").strip()
    alt = _text(alt)
    if not src or src.startswith("data:"):
        return f"*{alt}*" if alt else ""
    target = f"<{src}>" if _NEEDS_BRACKETS.search(src) else src
    return f"![{alt}]({target})"


def code_language(pre: etree._Element) -> str:
    """The language of a code block from classes/attributes on it, its ``code`` or wrappers."""
    candidates: list[etree._Element] = [pre]
    candidates.extend(c for c in pre.iterchildren("code"))
    parent = pre.getparent()
    for _ in range(3):
        if parent is None:
            break
        candidates.append(parent)
        parent = parent.getparent()
    for el in candidates:
        for attr in ("data-lang", "data-language"):
            value = el.get(attr)
            if value:
                return _LANG_ALIASES.get(str(value).lower(), str(value).lower())
        for match in _LANG_CLASS.finditer(_classes(el)):
            lang = (match.group(1) or match.group(2) or "").lower()
            if lang not in _NOT_LANGUAGES:
                return _LANG_ALIASES.get(lang, lang)
    return ""


def _code_block(pre: etree._Element) -> str:
    code = text_content(pre)
    code = code[1:] if code.startswith("\n") else code
    code = code.rstrip()
    runs = [len(r) for r in _FENCE_RUN.findall(code)] if "```" in code else []
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{code_language(pre)}\n{code}\n{fence}"


def _list(el: etree._Element) -> str:
    ordered = el.tag == "ol"
    start = int(el.get("start") or 1) if (el.get("start") or "1").isdigit() else 1
    items: list[str] = []
    loose = False
    for index, li in enumerate(el.iterchildren("li")):
        marker = f"{start + index}. " if ordered else "- "
        blocks = _blocks(li)
        loose = loose or sum(not _LIST_START.match(b) for b in blocks) > 1
        body = blocks[0] if blocks else ""
        for block in blocks[1:]:
            body += ("\n" if _LIST_START.match(block) else "\n\n") + block
        lines = body.split("\n")
        indent = " " * len(marker)
        rest = [(indent + line) if line else "" for line in lines[1:]]
        items.append("\n".join([marker + lines[0], *rest]).rstrip())
    return ("\n\n" if loose else "\n").join(items)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _is_admonition(el: etree._Element) -> bool:
    if el.tag not in _ADMONITION_TAGS:
        return False
    classes = _classes(el).split()
    return any(c in _ADMONITION_CLASSES for c in classes) or (el.tag == "details" and bool(classes))


def _admonition(el: etree._Element) -> str:
    el = copy.deepcopy(el)
    title_el = elements(_ADMONITION_TITLE, el)
    if title_el:
        title = _finish_inline(_inline_children(title_el[0]))
        drop_tree(title_el[0])
    else:
        kinds = [c for c in _classes(el).split() if c not in _ADMONITION_CLASSES]
        title = kinds[0].split("-")[-1].capitalize() if kinds else "Note"
    blocks = _blocks(el)
    plain = blocks and not re.match(r"[`|<#>\-*\d]", blocks[0])
    if plain:
        blocks[0] = f"**{title}:** {blocks[0]}"
    else:
        blocks.insert(0, f"**{title}:**")
    return _quote("\n\n".join(blocks))


def _tabs(el: etree._Element) -> list[str] | None:
    labels = elements(_TAB_LABELS, el)
    panels = elements(_TAB_PANELS, el)
    if not labels or len(labels) != len(panels):
        return None
    out: list[str] = []
    for label, panel in zip(labels, panels, strict=True):
        out.append(f"**{_finish_inline(_inline_children(label))}**")
        out.extend(_blocks(panel))
    return out


def _table(table: etree._Element) -> list[str]:
    rows = elements(_ROWS, table)
    if not rows:
        return []
    caption = table.find("caption")
    prefix = [f"*{_finish_inline(_inline_children(caption))}*"] if caption is not None else []
    if _is_complex(table):
        return [*prefix, _raw_table(table)]
    grid = [[_cell(c) for c in elements(_CELLS, row)] for row in rows]
    width = max(len(r) for r in grid)
    if width == 0:
        return []
    grid = [r + [""] * (width - len(r)) for r in grid]
    lines = ["| " + " | ".join(grid[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in grid[1:]]
    return [*prefix, "\n".join(lines)]


def _cell(cell: etree._Element) -> str:
    text = _finish_inline(_inline_children(cell)).replace("\\\n", "<br>").replace("\n", " ")
    return _CELL_PIPE.sub(r"\\|", text) if "|" in text else text


def _is_complex(table: etree._Element) -> bool:
    for cell in elements(_ALL_CELLS, table):
        if (cell.get("rowspan") or "1") != "1" or (cell.get("colspan") or "1") != "1":
            return True
        if len(cell) and (
            elements(_CELL_BLOCKS, cell) or len(elements(_CELL_PARAGRAPHS, cell)) > 1
        ):
            return True
    return False


def _raw_table(table: etree._Element) -> str:
    """Complex tables stay HTML (GFM allows HTML blocks); attributes other than spans dropped."""
    clone = copy.deepcopy(table)
    for el in clone.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in list(el.attrib):
            value = str(el.attrib[attr])
            unsafe = attr in ("href", "src") and not value.startswith(("http://", "https://", "#"))
            if unsafe or attr not in ("rowspan", "colspan", "href", "src", "alt"):
                del el.attrib[attr]
    clone.tail = None
    text = etree.tostring(clone, method="html", encoding="unicode")
    return _EMPTY_LINES.sub("\n", text).strip()


def strip_title_heading(markdown: str, title: str) -> str:
    """Drop the leading ``# Title`` line: the exports write the title themselves."""
    first, _, rest = markdown.partition("\n")
    if first.startswith("# ") and (not title or first[2:].strip() == title.strip()):
        return rest.lstrip("\n")
    return markdown
