"""Client-side token bucket, shared process-wide per TEMU app key (TEMU limits per app key)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

__all__ = ["DEFAULT_RATE_LIMIT", "TokenBucket", "bucket_for_app_key"]

DEFAULT_RATE_LIMIT = 20.0

_registry: dict[str, TokenBucket] = {}
_registry_lock = threading.Lock()


class TokenBucket:
    """A thread-safe token bucket; ``acquire`` waits for a token, ``try_acquire`` never waits.

    Waiting callers reserve their token up front, so concurrent callers queue fairly and the
    long-run rate never exceeds ``rate`` per second. ``capacity`` is the burst size.
    """

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._lock = threading.Lock()
        self._clock = clock
        self.rate = rate
        self.capacity = capacity if capacity is not None else rate
        self._tokens = self.capacity
        self._updated = clock()

    def configure(self, rate: float, capacity: float | None = None) -> None:
        """Change the rate (and burst size) of a live bucket."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        with self._lock:
            self._refill()
            self.rate = rate
            self.capacity = capacity if capacity is not None else rate
            self._tokens = min(self._tokens, self.capacity)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self) -> float:
        """Take one token now (possibly on credit); return the seconds to wait before using it."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def try_acquire(self) -> bool:
        """Take one token if one is available right now."""
        with self._lock:
            self._refill()
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    async def acquire(self) -> None:
        """Wait until a token is available and take it."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


def bucket_for_app_key(app_key: str, rate: float = DEFAULT_RATE_LIMIT) -> TokenBucket:
    """Return the process-wide bucket of ``app_key``, created or re-rated to ``rate`` per second."""
    with _registry_lock:
        bucket = _registry.get(app_key)
        if bucket is None:
            bucket = _registry[app_key] = TokenBucket(rate)
        elif bucket.rate != rate:
            bucket.configure(rate)
        return bucket
