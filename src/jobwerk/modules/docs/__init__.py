"""Documentation scraper: crawl a docs site, extract its content, export Markdown/JSON/HTML/PDF.

The module object (``module``, found through the ``jobwerk.modules`` entry point) lives in
``_module`` and is imported on first use: the scraper engine (``scraper``) and its conversion
processes then load without the server's packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._module import DocsModule, module

__all__ = ["DocsModule", "module"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import _module

        return getattr(_module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
