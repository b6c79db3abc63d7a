"""Documentation sites for ``bench/scrape.py``: a real MkDocs build and generated Sphinx output.

The Sphinx-style site is written directly as HTML in the shape Sphinx 9 with the alabaster theme
produces (``div.body[role=main]``, ``dl.py`` signatures, field lists, Pygments blocks, docutils
tables, the sidebar toctree), deterministically and in seconds even for 5,000 pages.
"""

from __future__ import annotations

import html
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MKDOCS_SECTIONS = 20
MKDOCS_PAGES_PER_SECTION = 30
LANGUAGES = ("python", "bash", "json", "rust", "go", "yaml")


@dataclass(frozen=True)
class Site:
    """A built site: its folder, start path and what an intact export must contain."""

    name: str
    root: Path
    start: str
    pages: int
    fences: int
    tables: int
    table_header: str


def mkdocs_page(section: int, page: int) -> str:
    """One MkDocs page: prose, two code blocks, a table, links to neighbours."""
    lang_a = LANGUAGES[page % len(LANGUAGES)]
    lang_b = LANGUAGES[(page + 1) % len(LANGUAGES)]
    rows = "\n".join(f"| opt_{i} | `{i * page}` | value {i} |" for i in range(6))
    nxt = f"page-{page + 1}.md" if page + 1 < MKDOCS_PAGES_PER_SECTION else "../index.md"
    return f"""# Section {section} page {page}

Intro paragraph for page {page} of section {section}, with *emphasis* and `inline_code`.
See the [next page]({nxt}) and the [home page](../index.md).

```{lang_a}
def example_{page}(value):
    if value > {page}:
        return value * 2
    return value
```

| Option | Default | Meaning |
| ------ | ------- | ------- |
{rows}

```{lang_b}
echo "section {section} page {page}"
```

Closing words for page {page}.
"""


def build_mkdocs(root: Path) -> Site:
    """Write and build the 601-page MkDocs project (in a subprocess)."""
    docs = root / "docs"
    nav = ["  - Home: index.md"]
    links = []
    for section in range(MKDOCS_SECTIONS):
        nav.append(f"  - Section {section}:")
        links.append(f"- [Section {section}](s{section}/page-0.md)")
        for page in range(MKDOCS_PAGES_PER_SECTION):
            path = docs / f"s{section}" / f"page-{page}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(mkdocs_page(section, page), encoding="utf-8")
            nav.append(f"    - Page {page}: s{section}/page-{page}.md")
    (docs / "index.md").write_text("# Bench docs\n\n" + "\n".join(links) + "\n", encoding="utf-8")
    config = "site_name: Bench\ntheme: readthedocs\nnav:\n" + "\n".join(nav) + "\n"
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    out = root / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(root / "mkdocs.yml")]
    subprocess.run([*command, "-d", str(out)], check=True, capture_output=True)
    content = MKDOCS_SECTIONS * MKDOCS_PAGES_PER_SECTION
    return Site("mkdocs", out, "/", content + 1, 2 * content, content, "| Option | Default |")


# --- Sphinx-style site -------------------------------------------------------------------------

_HEAD = """<!DOCTYPE html>

<html lang="en" data-content_root="{root}">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>{title} &#8212; Bench  documentation</title>
    <link rel="stylesheet" type="text/css" href="{root}_static/pygments.css?v=5ecbeea2" />
    <link rel="stylesheet" type="text/css" href="{root}_static/basic.css?v=b08954a9" />
    <link rel="stylesheet" type="text/css" href="{root}_static/alabaster.css?v=27fed22d" />
    <script src="{root}_static/documentation_options.js?v=5929fcd5"></script>
    <script src="{root}_static/doctools.js?v=fd6eb6e6"></script>
    <script src="{root}_static/sphinx_highlight.js?v=6ffebe34"></script>
    <link rel="index" title="Index" href="{root}genindex.html" />
    <link rel="search" title="Search" href="{root}search.html" />
  </head><body>
    <div class="document">
      <div class="documentwrapper">
        <div class="bodywrapper">
          <div class="body" role="main">
"""
_FOOT = """
          </div>
        </div>
      </div>
      <div class="sphinxsidebar" role="navigation" aria-label="Main">
        <div class="sphinxsidebarwrapper">
<h1 class="logo"><a href="{root}index.html">Bench</a></h1>
<search id="searchbox" style="display: none" role="search">
    <div class="searchformwrapper">
    <form class="search" action="{root}search.html" method="get">
      <input type="text" name="q" aria-labelledby="searchlabel" placeholder="Search"/>
      <input type="submit" value="Go" />
    </form>
    </div>
</search>
<script>document.getElementById('searchbox').style.display = "block"</script><h3>Navigation</h3>
<p class="caption" role="heading"><span class="caption-text">Contents</span></p>
{nav}
<div class="relations">
<h3>Related Topics</h3>
<ul>
  <li><a href="{root}index.html">Documentation overview</a></li>
</ul>
</div>
        </div>
      </div>
      <div class="clearer"></div>
    </div>
    <div class="footer">
      &#169;. | Powered by <a href="https://www.sphinx-doc.org/">Sphinx 9.0.4</a>
      | <a href="{root}_sources/{source}.rst.txt" rel="nofollow">Page source</a>
    </div>
  </body>
</html>
"""
_TYPES = ("int", "str", "bool", "float", "bytes", "list[str]", "dict[str, int]", "None")
_SPHINX_TABLE_HEADER = "| Name | Type | Default | Meaning |"


def _pre(text: str) -> str:
    return f'<span class="pre">{html.escape(text)}</span>'


def _headerlink(anchor: str, what: str) -> str:
    return f'<a class="headerlink" href="#{anchor}" title="Link to this {what}">¶</a>'


def _signature(module: str, name: str, params: list[tuple[str, str]], returns: str) -> str:
    args = ", ".join(
        '<em class="sig-param"><span class="n">'
        f'{_pre(p)}</span><span class="p">{_pre(":")}</span><span class="w"> </span>'
        f'<span class="n">{_pre(t)}</span></em>'
        for p, t in params
    )
    anchor = f"{module}.{name}"
    return (
        f'<dt class="sig sig-object py" id="{anchor}">\n'
        f'<span class="sig-prename descclassname">{_pre(module + ".")}</span>'
        f'<span class="sig-name descname">{_pre(name)}</span>'
        f'<span class="sig-paren">(</span>{args}<span class="sig-paren">)</span> '
        '<span class="sig-return"><span class="sig-return-icon">&#x2192;</span> '
        f'<span class="sig-return-typehint">{_pre(returns)}</span></span>'
        f"{_headerlink(anchor, 'definition')}</dt>"
    )


def _code(lines: list[str], language: str = "python", linenos: bool = False) -> str:
    body = []
    for number, line in enumerate(lines, 1):
        prefix = f'<span class="linenos">{number}</span>' if linenos else ""
        words = [f'<span class="n">{html.escape(w)}</span>' for w in line.split(" ")]
        body.append(prefix + '<span class="w"> </span>'.join(words))
    return (
        f'<div class="highlight-{language} notranslate"><div class="highlight"><pre><span></span>'
        + "\n".join(body)
        + "\n</pre></div>\n</div>"
    )


def _entry(module: str, index: int, other_page: str) -> str:
    """One documented function: signature, description, field list, example."""
    name = f"func_{index}"
    params = [(f"arg_{k}", _TYPES[(index + k) % len(_TYPES)]) for k in range(1 + index % 4)]
    fields = "\n".join(
        f"<li><p><strong>{p}</strong> (<em>{html.escape(t)}</em>) – the {p} of the call, "
        f'see <code class="docutils literal notranslate">{_pre(p.upper())}</code></p></li>'
        for p, t in params
    )
    example = [
        f"from {module} import {name}",
        "",
        f"result = {name}({', '.join(str(k) for k in range(len(params)))})",
        "if result is None:",
        '    raise SystemExit("failed")',
        "print(result)",
    ]
    admonition = (
        '<div class="admonition warning">\n<p class="admonition-title">Warning</p>\n'
        f"<p>{name} is not thread-safe; guard it with a lock.</p>\n</div>\n"
        if index % 5 == 0
        else ""
    )
    return f"""<dl class="py function">
{_signature(module, name, params, _TYPES[index % len(_TYPES)])}
<dd><p>Compute the {index}th value. Calls <a class="reference internal" href="{other_page}" \
title="{module}"><code class="xref py py-func docutils literal notranslate">\
{_pre(f"helper_{index}()")}</code></a> and returns <em>None</em> when the input is empty; \
values are cached per <code class="docutils literal notranslate">{_pre("snake_case")}</code> \
key.</p>
<dl class="field-list simple">
<dt class="field-odd">Parameters<span class="colon">:</span></dt>
<dd class="field-odd"><ul class="simple">
{fields}
</ul>
</dd>
<dt class="field-even">Returns<span class="colon">:</span></dt>
<dd class="field-even"><p>the computed value</p>
</dd>
<dt class="field-odd">Raises<span class="colon">:</span></dt>
<dd class="field-odd"><p><strong>ValueError</strong> – if an argument is negative</p>
</dd>
</dl>
{admonition}{_code(example)}
</dd></dl>
"""


def _table(module: str, rows: int) -> str:
    body = "\n".join(
        f'<tr class="row-{"odd" if r % 2 else "even"}"><td><p>{module}.opt_{r}</p></td>\n'
        f"<td><p>{_TYPES[r % len(_TYPES)]}</p></td>\n"
        f'<td><p><code class="docutils literal notranslate">{_pre(str(r * 7))}</code></p></td>\n'
        f"<td><p>option {r}, a | b when set</p></td>\n</tr>"
        for r in range(rows)
    )
    head = "".join(f'<th class="head"><p>{h}</p></th>\n' for h in ("Name", "Type", "Default"))
    return f"""<table class="docutils align-default" id="{module}-options">
<caption><span class="caption-text">Options</span>{_headerlink(module + "-options", "table")}\
</caption>
<thead>
<tr class="row-odd">{head}<th class="head"><p>Meaning</p></th>
</tr>
</thead>
<tbody>
{body}
</tbody>
</table>"""


def _nav(sections: int, pages: int, current: tuple[int, int] | None, root: str) -> str:
    """The sidebar toctree: every part, the current part's pages expanded."""
    items = []
    for s in range(sections):
        sub = ""
        if current is not None and current[0] == s:
            sub = "<ul>\n" + "\n".join(
                f'<li class="toctree-l2"><a class="reference internal" '
                f'href="{root}part{s}/module{p}.html">pkg.p{s}.m{p}</a></li>'
                for p in range(pages)
            )
            sub += "\n</ul>\n"
        items.append(
            f'<li class="toctree-l1"><a class="reference internal" '
            f'href="{root}part{s}/index.html">Part {s}</a>{sub}</li>'
        )
    return '<ul class="current">\n' + "\n".join(items) + "\n</ul>"


def _page(title: str, body: str, nav: str, root: str, source: str) -> str:
    return (
        _HEAD.format(root=root, title=html.escape(title))
        + body
        + _FOOT.format(root=root, nav=nav, source=source)
    )


def _module_page(s: int, p: int, sections: int, pages: int) -> tuple[str, int]:
    """An API page and its number of code blocks."""
    module = f"pkg.p{s}.m{p}"
    count = 12 + (s * 7 + p * 3) % 20
    neighbour = f"module{(p + 1) % pages}.html#pkg.p{s}.m{(p + 1) % pages}.func_1"
    entries = "".join(_entry(module, i, neighbour) for i in range(count))
    example = [f"python -m {module} --option {k}" for k in range(6)]
    title = f"{module} — module {p} of part {s}"
    body = f"""<section id="module-{module}">
<h1>{html.escape(title)}{_headerlink("module-" + module, "heading")}</h1>
<p>Module <code class="docutils literal notranslate">{_pre(module)}</code> holds {count} functions.
Start with <a class="reference internal" href="#{module}.func_0" title="{module}.func_0">\
<code class="xref py py-func docutils literal notranslate">{_pre("func_0()")}</code></a>, or go back
to <a class="reference internal" href="index.html">Part {s}</a>.</p>
{_table(module, 8)}
{entries}<section id="command-line">
<h2>Command line{_headerlink("command-line", "heading")}</h2>
<p>The module runs as a script:</p>
{_code(example, "bash", linenos=True)}
</section>
</section>
"""
    return _page(title, body, _nav(sections, pages, (s, p), "../"), "../", f"part{s}/module{p}"), (
        count + 1
    )


def _part_page(s: int, sections: int, pages: int) -> str:
    items = "\n".join(
        f'<li class="toctree-l1"><a class="reference internal" href="module{p}.html">'
        f"pkg.p{s}.m{p} — module {p} of part {s}</a><ul>\n"
        f'<li class="toctree-l2"><a class="reference internal" href="module{p}.html#'
        f'pkg.p{s}.m{p}.func_0"><code class="docutils literal notranslate">'
        f"{_pre('func_0()')}</code></a></li>\n</ul>\n</li>"
        for p in range(pages)
    )
    body = f"""<section id="part-{s}">
<h1>Part {s}{_headerlink(f"part-{s}", "heading")}</h1>
<p>The modules of part {s}.</p>
<div class="toctree-wrapper compound">
<ul>
{items}
</ul>
</div>
</section>
"""
    return _page(f"Part {s}", body, _nav(sections, pages, (s, -1), "../"), "../", f"part{s}/index")


def build_sphinx(root: Path, sections: int, pages: int, name: str = "sphinx") -> Site:
    """Write ``1 + sections * (pages + 1)`` Sphinx-style pages into ``root``."""
    fences = 0
    for s in range(sections):
        part = root / f"part{s}"
        part.mkdir(parents=True, exist_ok=True)
        (part / "index.html").write_text(_part_page(s, sections, pages), encoding="utf-8")
        for p in range(pages):
            text, blocks = _module_page(s, p, sections, pages)
            (part / f"module{p}.html").write_text(text, encoding="utf-8")
            fences += blocks
    toc = "\n".join(
        f'<li class="toctree-l1"><a class="reference internal" href="part{s}/index.html">'
        f"Part {s}</a></li>"
        for s in range(sections)
    )
    body = f"""<section id="bench-documentation">
<h1>Bench documentation{_headerlink("bench-documentation", "heading")}</h1>
<div class="toctree-wrapper compound">
<p class="caption" role="heading"><span class="caption-text">Contents</span></p>
<ul>
{toc}
</ul>
</div>
</section>
"""
    index = _page("Bench documentation", body, _nav(sections, pages, None, ""), "", "index")
    (root / "index.html").write_text(index, encoding="utf-8")
    total = 1 + sections * (pages + 1)
    return Site(name, root, "/index.html", total, fences, sections * pages, _SPHINX_TABLE_HEADER)
