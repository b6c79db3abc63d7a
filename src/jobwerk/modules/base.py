"""The module contract: what a module contributes to jobwerk.

A module is an object exposed through the entry-point group ``jobwerk.modules``; its package may
be installed separately. jobwerk discovers it at start, registers its workflows, mounts its HTTP
routers and CLI commands, creates its default jobs and calls its start-up and shut-down hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from jobwerk.sdk import Workflow

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from jobwerk.sdk import Runtime
    from jobwerk.storage.models import Instance

CONTRACT_VERSION = 1


@dataclass(frozen=True)
class JobSpec:
    """A job a module wants to exist (created once; users may change it afterwards)."""

    id: str
    workflow: str
    title: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    interval_minutes: float | None = None
    cron: str | None = None
    timezone: str = "UTC"
    enabled: bool = True


class Module:
    """Base class of jobwerk modules; override what your module contributes.

    Attributes:
        name: lower-case module name, the prefix of its workflows (``temu``).
        version: the module's version.
        title: a human name for the dashboard.
        settings_model: pydantic model of an instance's settings; ``SecretStr`` fields are
            stored encrypted and never returned. ``None``: the module has no instances.
        contract_version: the module contract the module was written for.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "0.0.0"
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    settings_model: ClassVar[type[BaseModel] | None] = None
    contract_version: ClassVar[int] = CONTRACT_VERSION

    def workflows(self) -> Sequence[Workflow[Any]]:
        """The workflows this module registers (named ``<module>.<name>``)."""
        return ()

    def routers(self) -> Sequence[Any]:
        """FastAPI routers to mount (with their own prefixes)."""
        return ()

    def public_routers(self) -> Sequence[Any]:
        """FastAPI routers whose callers cannot log in and that authenticate every request
        themselves, e.g. a marketplace's signed webhooks; mounted without jobwerk's login.
        A route here must refuse a request it cannot verify (401/403), before doing anything.
        """
        return ()

    def cli(self) -> Any | None:
        """A Typer app or command function to add to ``jobwerk``, or a list of them."""
        return None

    def default_jobs(self, instance: Instance | None) -> Sequence[JobSpec]:
        """Jobs to create for a new instance (or, with ``None``, once for the module)."""
        return ()

    def migrate(self, connection: Connection, previous_version: str | None) -> None:
        """Bring the module's own tables to this version; the module manager calls it.

        It runs in a separate process, synchronously and in one transaction, when the module
        is installed (``previous_version`` is None) or updated. Raising refuses the version:
        the transaction is rolled back and the installation undone.
        """

    def resources(self, runtime: Runtime) -> AbstractAsyncContextManager[Any] | None:
        """What this module's steps share within one process — connection pools, clients,
        caches — as an async context manager. It is entered when the first step of the module
        runs in a process (server, worker or ``jobs run --wait`` alike) and exited when that
        process stops; steps read what it yields as ``ctx.resources``.
        """
        return None

    async def startup(self, runtime: Runtime) -> None:
        """Called once the runtime has started."""

    async def shutdown(self, runtime: Runtime) -> None:
        """Called before the runtime stops."""

    async def demo(self, runtime: Runtime) -> str | None:
        """Prepare what ``jobwerk demo`` shows of this module; called before the server starts.

        A module may start simulators here (in threads, which outlive this call and end with the
        process) and create instances and jobs that use them. The runtime is migrated and has
        every module's workflows registered; it executes nothing itself.

        Returns:
            One line for the console saying what was started (None: nothing to say).
        """
        return None

    async def health(self, runtime: Runtime, instance: Instance | None) -> dict[str, Any]:
        """The module's own checks, e.g. ``{"temu": {"status": "ok"}}``."""
        return {}
