"""HTML → GitHub-flavoured Markdown for documentation content: a pure function on lxml trees.

Own converter instead of markdownify: the tree is already parsed by lxml (no second BeautifulSoup
parse), and the documented markdownify traps (code language, ``<br>`` in ``pre``, Pygments line
number tables, pipes in cells, row/colspan, admonitions, tabs) all need custom handling anyway.
"""

from __future__ import annotations

import copy
import re

from lxml import html

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
_LINE_START = re.compile(r"^(\s*)([#>+-]|\d+[.)])(?=\s)", re.M)
_BR = "\x00"
_LIST_START = re.compile(r"(?:-|\d+\.) ")
_ADMONITION_CLASSES = ("admonition", "theme-admonition", "alert")


def html_to_markdown(element: html.HtmlElement) -> str:
    """Convert a content element (links already absolute) to Markdown."""
    return "\n\n".join(_blocks(element)).strip() + "\n"


def _classes(el: html.HtmlElement) -> str:
    return str(el.get("class") or "")


def _blocks(el: html.HtmlElement) -> list[str]:
    """Render the children of ``el`` as a list of Markdown blocks."""
    out: list[str] = []
    buffer: list[str] = [_text(el.text)]
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag in _BLOCK_TAGS or _is_admonition(child):
            _flush(buffer, out)
            out.extend(_block(child))
            buffer = [_text(child.tail)]
        else:
            buffer.append(_inline(child))
            buffer.append(_text(child.tail))
    _flush(buffer, out)
    return [b for b in out if b.strip()]


def _flush(buffer: list[str], out: list[str]) -> None:
    text = _finish_inline("".join(buffer))
    if text:
        out.append(_LINE_START.sub(r"\1\\\2", text))
    buffer.clear()


def _finish_inline(text: str) -> str:
    text = re.sub(r"[ \t\r\n]+", " ", text).strip()
    return re.sub(r" ?\x00 ?", "\\\\\n", text).strip("\\\n ")


def _block(el: html.HtmlElement) -> list[str]:
    tag = str(el.tag)
    if _is_admonition(el):
        return [_admonition(el)]
    if "tabbed-set" in _classes(el) or el.xpath("./*[@role='tablist']"):
        tabs = _tabs(el)
        if tabs is not None:
            return tabs
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        text = _finish_inline(_inline_children(el))
        return [f"{'#' * int(tag[1])} {text}"] if text else []
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
    if tag == "dt":
        text = _finish_inline(_inline_children(el))
        return [f"**{text}**"] if text else []
    if tag == "summary":
        text = _finish_inline(_inline_children(el))
        return [f"**{text}**"] if text else []
    if tag == "figcaption":
        text = _finish_inline(_inline_children(el))
        return [f"*{text}*"] if text else []
    if tag == "div" and el.xpath("./pre") and len(el) == 1:
        return [_code_block(el[0])]
    return _blocks(el)


def _text(text: str | None) -> str:
    return _ESCAPE.sub(r"\\\1", text) if text else ""


def _inline_children(el: html.HtmlElement) -> str:
    parts = [_text(el.text)]
    for child in el:
        parts.append(_inline(child))
        parts.append(_text(child.tail))
    return "".join(parts)


def _inline(el: html.HtmlElement) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    if not tag or tag in _SKIP_TAGS:
        return ""
    if tag == "br":
        return _BR
    if tag == "code" or tag in ("kbd", "samp", "tt"):
        return _inline_code(el.text_content())
    if tag == "img":
        return _image(el)
    inner = _inline_children(el)
    if tag == "a":
        return _link(el, inner)
    stripped = inner.strip()
    if not stripped:
        return inner
    if tag in ("strong", "b"):
        return f" **{stripped}** " if inner != stripped else f"**{stripped}**"
    if tag in ("em", "i", "cite", "var"):
        return f" *{stripped}* " if inner != stripped else f"*{stripped}*"
    if tag in ("del", "s", "strike"):
        return f"~~{stripped}~~"
    if tag in _BLOCK_TAGS:
        return f" {inner} "
    return inner


def _inline_code(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    if not text.strip():
        return ""
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _link(el: html.HtmlElement, inner: str) -> str:
    href = (el.get("href") or "").strip()
    text = inner.strip()
    if not href or href.startswith("javascript:"):
        return inner
    if not text:
        return ""
    target = f"<{href}>" if re.search(r"[\s()<>]", href) else href
    title = el.get("title")
    suffix = f' "{title.replace(chr(34), chr(39))}"' if title and title != text else ""
    return f"[{text}]({target}{suffix})"


def _image(el: html.HtmlElement) -> str:
    src = (el.get("src") or el.get("data-src") or "").strip()
    alt = re.sub(r"\s+", " ", el.get("alt") or "").strip()
    alt = _ESCAPE.sub(r"\\\1", alt)
    if not src or src.startswith("data:"):
        return f"*{alt}*" if alt else ""
    target = f"<{src}>" if re.search(r"[\s()<>]", src) else src
    return f"![{alt}]({target})"


def code_language(pre: html.HtmlElement) -> str:
    """The language of a code block from classes/attributes on it, its ``code`` or wrappers."""
    candidates: list[html.HtmlElement] = [pre]
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


def _code_block(pre: html.HtmlElement) -> str:
    code = pre.text_content()
    code = code[1:] if code.startswith("\n") else code
    code = code.rstrip()
    runs = [len(r) for r in re.findall(r"^\s*(`{3,})", code, re.M)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{code_language(pre)}\n{code}\n{fence}"


def _list(el: html.HtmlElement) -> str:
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


def _is_admonition(el: html.HtmlElement) -> bool:
    if not isinstance(el.tag, str) or el.tag not in ("div", "details", "aside", "section"):
        return False
    classes = _classes(el).split()
    return any(c in _ADMONITION_CLASSES for c in classes) or (el.tag == "details" and bool(classes))


def _admonition(el: html.HtmlElement) -> str:
    el = copy.deepcopy(el)
    title_el = el.xpath(
        "./*[contains(@class,'admonition-title') or contains(@class,'admonitionHeading')"
        " or self::summary][1]"
    )
    if title_el:
        title = _finish_inline(_inline_children(title_el[0]))
        title_el[0].drop_tree()
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


def _tabs(el: html.HtmlElement) -> list[str] | None:
    labels = el.xpath(".//*[contains(@class,'tabbed-labels')]/label | .//*[@role='tab']")
    panels = el.xpath(".//*[contains(@class,'tabbed-block')] | .//*[@role='tabpanel']")
    if not labels or len(labels) != len(panels):
        return None
    out: list[str] = []
    for label, panel in zip(labels, panels, strict=True):
        out.append(f"**{_finish_inline(_inline_children(label))}**")
        out.extend(_blocks(panel))
    return out


def _table(table: html.HtmlElement) -> list[str]:
    rows = table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
    if not rows:
        return []
    caption = table.xpath("./caption")
    prefix = [f"*{_finish_inline(_inline_children(caption[0]))}*"] if caption else []
    if _is_complex(table):
        return [*prefix, _raw_table(table)]
    grid = [[_cell(c) for c in row.xpath("./th | ./td")] for row in rows]
    width = max(len(r) for r in grid)
    if width == 0:
        return []
    grid = [r + [""] * (width - len(r)) for r in grid]
    lines = ["| " + " | ".join(grid[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in grid[1:]]
    return [*prefix, "\n".join(lines)]


def _cell(cell: html.HtmlElement) -> str:
    text = _finish_inline(_inline_children(cell)).replace("\\\n", "<br>")
    return re.sub(r"(?<!\\)\|", r"\\|", text.replace("\n", " "))


def _is_complex(table: html.HtmlElement) -> bool:
    for cell in table.xpath(".//td | .//th"):
        if (cell.get("rowspan") or "1") != "1" or (cell.get("colspan") or "1") != "1":
            return True
        if cell.xpath(".//table | .//pre | .//ul | .//ol | .//dl | .//blockquote"):
            return True
        if len(cell.xpath("./p | ./div")) > 1:
            return True
    return False


def _raw_table(table: html.HtmlElement) -> str:
    """Complex tables stay HTML (GFM allows HTML blocks); attributes other than spans dropped."""
    clone = copy.deepcopy(table)
    for el in clone.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in list(el.attrib):
            value = el.attrib[attr]
            unsafe = attr in ("href", "src") and not value.startswith(("http://", "https://", "#"))
            if unsafe or attr not in ("rowspan", "colspan", "href", "src", "alt"):
                del el.attrib[attr]
    clone.tail = None
    text = html.tostring(clone, encoding="unicode")
    return re.sub(r"\n\s*\n", "\n", text).strip()


def strip_title_heading(markdown: str, title: str) -> str:
    """Drop the leading ``# Title`` line: the exports write the title themselves."""
    first, _, rest = markdown.partition("\n")
    if first.startswith("# ") and (not title or first[2:].strip() == title.strip()):
        return rest.lstrip("\n")
    return markdown
