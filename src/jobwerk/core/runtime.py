"""The engine assembled for one process: database, workflows, events, executor, scheduler."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.config import Settings
from jobwerk.core.backup import backup_workflow
from jobwerk.core.context import InstanceConfig
from jobwerk.core.events import Event, EventBus
from jobwerk.core.executors import executor_for
from jobwerk.core.executors._base import worker_name
from jobwerk.core.instances import instance_config
from jobwerk.core.relay import relay_for
from jobwerk.core.resources import ProcessResources
from jobwerk.core.runner import RunEnvironment
from jobwerk.core.scheduler import Scheduler
from jobwerk.core.secrets import SecretBox, load_or_create_key
from jobwerk.core.workflow import WorkflowRegistry
from jobwerk.logging import configure_logging
from jobwerk.storage.db import Database, DatabaseUnavailable
from jobwerk.storage.models import Instance

log = structlog.get_logger("jobwerk.runtime")


class Runtime:
    """Everything the API, the CLI and the modules share in one process."""

    def __init__(self, settings: Settings) -> None:
        if not structlog.is_configured():
            # Embedded without the CLI (``uvicorn --factory``, a script): structlog's defaults
            # would render a failure's local variables, secrets included.
            configure_logging(settings.log.level, settings.log.format)
        self.settings = settings
        self.started_at = time.time()
        self.db = Database(
            settings.database_url,
            pool_size=settings.database.pool_size,
            echo=settings.database.echo,
        )
        self.workflows = WorkflowRegistry()
        self.bus = EventBus()
        secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
        self.box = SecretBox(load_or_create_key(settings.data_dir, secret_key))
        self.resources = ProcessResources()
        self.env = RunEnvironment(
            db=self.db,
            workflows=self.workflows,
            bus=self.bus,
            data_dir=settings.data_dir,
            box=self.box,
            worker=worker_name(),
            heartbeat_seconds=settings.engine.heartbeat_seconds,
            load_instance=self.load_instance,
            resources=self.resources,
        )
        self.executor = executor_for(self.env, settings.engine)
        self.scheduler = Scheduler(self.db, self.executor.submit)
        self._running: list[Any] = []

    async def start(self, *, executor: bool | None = None, scheduler: bool | None = None) -> None:
        """Migrate the database, register the engine's own workflow (``system.backup``),
        connect this process's events with the other processes on it, then start the executor
        and the scheduler (each as configured unless told).

        Raises:
            DatabaseUnavailable: the database does not answer (its engine is disposed).
        """
        try:
            await self.db.check()
        except DatabaseUnavailable:
            await self.db.dispose()
            raise
        await self.db.upgrade()
        self.workflows.register(backup_workflow)
        relay = relay_for(self.bus, self.db.url) if self.settings.engine.share_events else None
        if relay is not None:
            await relay.start()
            self._running.append(relay)
        if executor if executor is not None else self.settings.engine.execute:
            await self.executor.start()
            self._running.append(self.executor)
        if scheduler if scheduler is not None else self.settings.engine.scheduler:
            await self.scheduler.start()
            self._running.append(self.scheduler)

    async def stop(self) -> None:
        for part in reversed(self._running):
            await part.stop()
        self._running.clear()
        await self.resources.close()
        await self.db.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A writing transaction; after it commits, enqueued runs start and events go out."""
        async with self.db.write() as session:
            yield session
        self.after_commit(session.info)

    def after_commit(self, info: dict[str, Any]) -> None:
        for run_id in info.pop("enqueued", []):
            self.executor.submit(run_id)
        for event in info.pop("events", []):
            self.publish(event)

    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    async def load_instance(self, instance_id: str) -> InstanceConfig | None:
        async with self.db.session() as session:
            instance = await session.get(Instance, instance_id)
            return instance_config(self.box, instance) if instance else None
