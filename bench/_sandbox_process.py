"""The TEMU sandbox of a benchmark in a child process of its own, so its CPU is not the
benchmark's: ``serve`` seeds it, sends the facts the benchmark needs over the pipe, serves until
it receives anything (or the parent goes away)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

Serve = Callable[[Connection, int, int, float, str], None]


@contextmanager
def sandbox_process(
    serve: Serve, orders: int, skus: int, rate: float, replica: Path
) -> Iterator[dict[str, Any]]:
    """Start ``serve(channel, orders, skus, rate, replica)`` in a child; yields its facts."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(
        target=serve, args=(theirs, orders, skus, rate, str(replica)), daemon=True
    )
    child.start()
    try:
        if not ours.poll(1800):
            raise SystemExit("the sandbox process did not start")
        yield ours.recv()
    finally:
        ours.send("stop")
        child.join(30)
        if child.is_alive():
            child.terminate()
