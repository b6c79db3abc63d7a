"""What keeps a login attack cheap: back-off per client address and per user name, decided before
any password is hashed, and a gate that lets only a few hashes run at once."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from jobwerk.errors import AppError

_T = TypeVar("_T")


class TooManyAttempts(AppError):
    status = 429


class LoginBusy(AppError):
    status = 503


@dataclass
class _Failures:
    count: int
    last: float


class LoginThrottle:
    """Failed logins per client address and per user name, with exponential back-off.

    An attempt counts as failed from the moment it starts (a burst of concurrent guesses is
    throttled before the first answer); a success takes its own count back and clears the user
    name's. After ``free_per_user`` failures for a name (``free_per_address`` for an address,
    which many users may share), each further attempt waits 1, 2, 4 … seconds after the last,
    at most ``max_wait``; counts are forgotten ``forget_after`` seconds after the last failure.
    Counts live in this process: each API process throttles on its own.
    """

    MAX_ENTRIES = 100_000

    def __init__(
        self,
        *,
        free_per_user: int = 5,
        free_per_address: int = 20,
        max_wait: float = 300.0,
        forget_after: float = 900.0,
    ) -> None:
        self.free = {"user": free_per_user, "address": free_per_address}
        self.max_wait = max_wait
        self.forget_after = forget_after
        self._failures: dict[tuple[str, str], _Failures] = {}

    def _wait(self, key: tuple[str, str], now: float) -> float:
        entry = self._failures.get(key)
        if entry is None or now - entry.last >= self.forget_after:
            return 0.0
        over = entry.count - self.free[key[0]]
        if over < 0:
            return 0.0
        return max(0.0, min(self.max_wait, 2.0 ** min(over, 32)) - (now - entry.last))

    def attempt(self, address: str, username: str, now: float | None = None) -> None:
        """Count an attempt, or refuse it.

        Raises:
            TooManyAttempts: the address or the user name must wait (``retry_after`` seconds).
        """
        now = time.monotonic() if now is None else now
        keys = (("address", address), ("user", username.lower()))
        wait = max(self._wait(key, now) for key in keys)
        if wait > 0:
            raise TooManyAttempts(
                "Too many failed logins; wait before trying again",
                retry_after=max(1, math.ceil(wait)),
            )
        self._prune(now)
        for key in keys:
            entry = self._failures.get(key)
            if entry is None or now - entry.last >= self.forget_after:
                self._failures[key] = _Failures(1, now)
            else:
                entry.count, entry.last = entry.count + 1, now

    def succeeded(self, address: str, username: str) -> None:
        self._failures.pop(("user", username.lower()), None)
        entry = self._failures.get(("address", address))
        if entry is not None:
            entry.count = max(0, entry.count - 1)

    def _prune(self, now: float) -> None:
        if len(self._failures) < self.MAX_ENTRIES:
            return
        self._failures = {
            key: entry
            for key, entry in self._failures.items()
            if now - entry.last < self.forget_after and self._wait(key, now) > 0
        }


class HashGate:
    """Runs password hashing in threads, at most ``concurrency`` at once; with ``queue``
    callers already waiting, a further one is answered 503 at once. So a burst of logins cannot
    take every core, the thread pool or the database's connections (none is held meanwhile)."""

    def __init__(self, concurrency: int = 1, queue: int = 32) -> None:
        self.queue = queue
        self._slots = asyncio.Semaphore(concurrency)
        self._waiting = 0

    async def run(self, function: Callable[..., _T], *args: object) -> _T:
        """Raises LoginBusy when too many hashes wait."""
        if self._waiting >= self.queue:
            raise LoginBusy("Too many logins at once; try again in a moment", retry_after=1)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await asyncio.to_thread(function, *args)
        finally:
            self._slots.release()
