"""The page spool: converted Markdown on disk while a crawl runs, so memory stays constant.

Every writing process appends to its own file in the spool folder; a page is then known by its
file, offset and length, and the exports read the pages back in site order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True, slots=True)
class SpoolRef:
    """Where one page's Markdown (UTF-8) lies in a spool folder."""

    file: str
    offset: int
    length: int


def append_text(folder: str, text: str) -> SpoolRef:
    """Append ``text`` to this process's file in ``folder`` (opened per call: nothing leaks)."""
    name = f"{os.getpid()}.md"
    data = text.encode()
    with open(os.path.join(folder, name), "ab") as handle:
        offset = handle.tell()
        handle.write(data)
    return SpoolRef(name, offset, len(data))


class SpoolReader:
    """Reads pages back from a spool folder; keeps one handle per file until closed."""

    def __init__(self, folder: str) -> None:
        self._folder = folder
        self._handles: dict[str, BinaryIO] = {}

    def read(self, ref: SpoolRef) -> str:
        """The Markdown at ``ref``."""
        handle = self._handles.get(ref.file)
        if handle is None:
            handle = self._handles[ref.file] = Path(self._folder, ref.file).open("rb")  # noqa: SIM115
        handle.seek(ref.offset)
        return handle.read(ref.length).decode()

    def close(self) -> None:
        """Close every open file."""
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __enter__(self) -> SpoolReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
