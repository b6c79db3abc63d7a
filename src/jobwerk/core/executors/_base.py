"""The executor interface: how a queued run gets executed somewhere."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Executor(ABC):
    """Takes runs that are ``queued`` in the database and executes them.

    A run is always inserted as ``queued`` in the caller's transaction first; ``submit`` is a
    hint after the commit that lets an executor start it without waiting for its next poll.
    Workflows never see the executor, so a queue-backed implementation (Procrastinate on
    PostgreSQL, for workers on other machines) plugs in without changing any workflow.
    """

    @abstractmethod
    async def start(self) -> None:
        """Recover interrupted runs and begin taking queued ones."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop taking runs; runs still executing end as ``failed`` / ``interrupted``."""

    @abstractmethod
    def submit(self, run_id: str) -> None:
        """A run was committed as ``queued``; start it soon."""

    @abstractmethod
    def cancel(self, run_id: str) -> None:
        """Signal a run executing here to stop (its cancel flag is already stored)."""

    @property
    @abstractmethod
    def active_count(self) -> int:
        """Runs executing in this process now."""
