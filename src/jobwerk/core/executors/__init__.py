"""Executors run queued runs; ``local`` runs them on asyncio in this process."""

from jobwerk.core.executors._base import Executor
from jobwerk.core.executors._local import LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
