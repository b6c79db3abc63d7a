"""The conversion processes of one scrape: a process pool sized to the machine, or none.

The pool forks its workers from multiprocessing's fork server (not from the crawling process,
which may run a server's threads), preloaded with the conversion code. It lives as long as its
``Converter``: closing it (also on cancel) drops queued work and ends the workers.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

import structlog

from . import _convert

T = TypeVar("T")
R = TypeVar("R")

log = structlog.get_logger("jobwerk.docs")


def default_workers() -> int:
    """One conversion process per CPU this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _pool(workers: int) -> ProcessPoolExecutor:
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # The server imports these once (then freezes them for the collector); each worker is a
        # fork of it, ready in milliseconds, without the parent's __main__ (see _forkserver).
        context.set_forkserver_preload([_convert.__name__, f"{__package__}._forkserver"])
    return ProcessPoolExecutor(workers, mp_context=context)


class Converter:
    """Runs the jobs of ``_convert`` in worker processes, or inline when there are none.

    Use as an async context manager. ``workers`` None means one per CPU, 0 means inline (so
    does a daemonic process, which may not start children). A pool broken by a dying worker
    fails the jobs it held and is replaced.
    """

    def __init__(self, workers: int | None = None) -> None:
        count = default_workers() if workers is None else workers
        self.workers = 0 if multiprocessing.current_process().daemon else count
        self._executor = _pool(self.workers) if self.workers else None
        self._ready: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Converter:
        if self._executor is not None:
            # Starting a worker may wait for the fork server: never on the event loop.
            self._ready = asyncio.create_task(asyncio.to_thread(self._start, self._executor))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.shield(self.aclose())

    def _start(self, executor: ProcessPoolExecutor) -> None:
        for future in [executor.submit(_convert.warm_up) for _ in range(self.workers)]:
            future.result()

    async def run(self, function: Callable[[T], R], job: T) -> R:
        """``function(job)`` in a worker (inline without workers)."""
        executor = self._executor
        if executor is None:
            return function(job)
        if self._ready is not None:
            await self._ready
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, function, job)
        except BrokenProcessPool:
            self._replace(executor)
            raise

    def submit(self, function: Callable[[T], R], job: T) -> Future[R]:
        """``function(job)``, from a thread other than the event loop's (the exports)."""
        if self._executor is not None:
            return self._executor.submit(function, job)
        future: Future[R] = Future()
        try:
            future.set_result(function(job))
        except Exception as exc:  # handed to the caller through the future, as a worker would
            future.set_exception(exc)
        return future

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._executor is broken:
            log.warning("conversion worker died; starting a new pool")
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = _pool(self.workers)

    async def aclose(self) -> None:
        """Drop queued jobs and wait for the workers to end (running jobs finish first)."""
        executor, self._executor = self._executor, None
        if self._ready is not None:
            await asyncio.gather(self._ready, return_exceptions=True)
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
