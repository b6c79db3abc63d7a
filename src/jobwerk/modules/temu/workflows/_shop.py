"""The shop a TEMU step works on: settings, clients, database, error mapping, health checks."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from pydantic import SecretStr

from jobwerk.core.context import StepContext
from jobwerk.core.workflow import Retry
from jobwerk.errors import AppError
from jobwerk.modules.temu.client import ExchangeRecord, TemuClient, TemuError
from jobwerk.modules.temu.jtl import JtlBackend, JtlDatabase, JtlError, JtlRest, JtlUnavailable
from jobwerk.modules.temu.settings import TemuSettings
from jobwerk.modules.temu.workflows._preview import preview_of
from jobwerk.modules.temu.workflows._scopes import scope_check
from jobwerk.storage.db import Database

MAX_LISTED_WARNINGS = 10
TOKEN_WARNING_SECONDS = 14 * 86_400


class TemuStepError(AppError):
    """TEMU refused a call in a way another attempt will not fix (credentials, parameters)."""

    status = 502


class MissingInstance(AppError):
    """A TEMU run needs an instance (a configured shop)."""

    status = 422


def settings_of(ctx: StepContext[Any]) -> TemuSettings:
    if ctx.instance is None:
        raise MissingInstance("TEMU workflows run for an instance; none is attached to this run")
    settings = TemuSettings.model_validate(ctx.instance.settings)
    preview = preview_of(ctx)
    return settings if preview is None else preview.settings(settings)


def instance_id(ctx: StepContext[Any]) -> str:
    if ctx.instance is None:
        raise MissingInstance("TEMU workflows run for an instance; none is attached to this run")
    return ctx.instance.id


def database(ctx: StepContext[Any]) -> Database:
    """The jobwerk database this run writes the module's tables to (a dry run: its own copy)."""
    preview = preview_of(ctx)
    return ctx.db if preview is None else preview.db


class ExchangeArchive:
    """Appends every TEMU request/response (secrets already removed) as one JSON line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: IO[str] | None = None
        self._closed = False

    def __call__(self, record: ExchangeRecord) -> None:
        if self._closed:
            return
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
        # Shallow on purpose: asdict() would deep-copy every response body first.
        line = {item.name: getattr(record, item.name) for item in fields(record)}
        self._file.write(json.dumps(line, default=str, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None


def make_client(
    settings: TemuSettings,
    archive: ExchangeArchive | None = None,
    *,
    retries: int | None = None,
    factory: Callable[..., TemuClient] = TemuClient,
) -> TemuClient:
    """A TEMU client for the shop of ``settings`` (``factory``: a dry run's client)."""
    return factory(
        app_key=settings.app_key,
        app_secret=settings.app_secret.get_secret_value(),
        access_token=settings.access_token.get_secret_value(),
        region=settings.region,
        base_url=settings.base_url,
        rate_limit=settings.rate_limit,
        max_retries=settings.max_retries if retries is None else retries,
        backoff_base=settings.backoff_seconds,
        on_exchange=archive,
    )


def make_jtl(settings: TemuSettings) -> JtlBackend:
    """The JTL adapter ``settings`` choose: the eazybusiness database or the REST API."""
    if settings.jtl_backend == "rest":
        assert settings.jtl_rest_url and settings.jtl_api_key and settings.jtl_customer_id
        return JtlRest(
            settings.jtl_rest_url,
            settings.jtl_api_key.get_secret_value(),
            customer_id=settings.jtl_customer_id,
            company_id=settings.jtl_company_id,
            warehouse_ids=settings.warehouse_ids,
            buffer=settings.jtl_stock_buffer,
            cancellation_reason_id=settings.jtl_cancellation_reason_id,
        )
    assert settings.jtl_url is not None  # the settings model requires one of the two
    return JtlDatabase.from_url(
        settings.jtl_url.get_secret_value(),
        warehouse_ids=settings.warehouse_ids,
        platform=settings.jtl_platform,
    )


@dataclass
class StockWatch:
    """What a shop's stock watch remembers between its cycles and runs in one process."""

    key: str
    """The shop's settings it belongs to (forgotten when they change)."""
    mark: int | None = None
    """The JTL backend's change mark (None: the next read is a complete one)."""
    available: dict[str, int] = field(default_factory=dict)
    """JTL's available stock by SKU key, as last read."""


class ShopResources:
    """What the TEMU steps of one process share: each shop's JTL backend with its connection
    pool (and its lock on JTL's import queue), made again when the shop's settings change, and
    what its stock watch last saw."""

    def __init__(self) -> None:
        self._jtl: dict[str, tuple[str, JtlBackend]] = {}
        self._replaced: list[JtlBackend] = []
        self._lock = asyncio.Lock()
        self._watches: dict[str, StockWatch] = {}

    def stock_watch(self, instance_id: str, settings: TemuSettings) -> StockWatch:
        """The shop's stock watch state (a fresh one after its settings changed)."""
        key = _jtl_key(settings)
        watch = self._watches.get(instance_id)
        if watch is None or watch.key != key:
            watch = self._watches[instance_id] = StockWatch(key)
        return watch

    async def jtl(self, instance_id: str, settings: TemuSettings) -> JtlBackend:
        key = _jtl_key(settings)
        async with self._lock:
            held = self._jtl.get(instance_id)
            if held is not None and held[0] == key:
                return held[1]
            if held is not None:
                self._replaced.append(held[1])  # a run may still use it; closed at the end
            backend = make_jtl(settings)
            self._jtl[instance_id] = (key, backend)
            return backend

    async def close(self) -> None:
        backends = [backend for _, backend in self._jtl.values()] + self._replaced
        self._jtl.clear()
        self._replaced.clear()
        for backend in backends:
            await backend.close()


def _jtl_key(settings: TemuSettings) -> str:
    """A fingerprint of the shop's settings (secrets included, kept only as this hash)."""
    values = settings.model_dump()
    plain = {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in values.items()}
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()


@asynccontextmanager
async def shop_resources() -> AsyncIterator[ShopResources]:
    """The TEMU module's per-process resources (see ``Module.resources``)."""
    resources = ShopResources()
    try:
        yield resources
    finally:
        await resources.close()


@asynccontextmanager
async def jtl(ctx: StepContext[Any], settings: TemuSettings) -> AsyncIterator[JtlBackend]:
    """The shop's JTL backend, shared by the runs of this process (its connections stay open
    between runs); a dry run's writes nothing, a replay's may be a JTL database of its own."""
    preview = preview_of(ctx)
    if preview is not None and preview.own_jtl:
        async with make_jtl(settings) as own:
            yield preview.jtl(own)
        return
    resources: ShopResources = ctx.resources
    backend = await resources.jtl(instance_id(ctx), settings)
    yield backend if preview is None else preview.jtl(backend)


def step_client(
    ctx: StepContext[Any], settings: TemuSettings, archive: ExchangeArchive
) -> TemuClient:
    """The step's TEMU client: a dry run's records its writes instead of sending them."""
    preview = preview_of(ctx)
    return make_client(settings, archive, factory=TemuClient if preview is None else preview.client)


@asynccontextmanager
async def temu_session(ctx: StepContext[Any], settings: TemuSettings) -> AsyncIterator[TemuClient]:
    """A client whose exchanges are archived as an export of the run (one file per step)."""
    archive = ExchangeArchive(ctx.export_dir / f"temu-{ctx.step}.jsonl")
    try:
        async with step_client(ctx, settings, archive) as client:
            with failures_as_retry():
                yield client
    finally:
        archive.close()
        if archive.path.exists() and not _exported(ctx, archive.path.name):
            ctx.add_export(
                archive.path,
                content_type="application/x-ndjson",
                title=f"TEMU requests and responses ({ctx.step})",
            )


def _exported(ctx: StepContext[Any], name: str) -> bool:
    return any(export["name"] == name for export in ctx.result.get("exports", []))


@contextmanager
def failures_as_retry() -> Iterator[None]:
    """Retryable TEMU/JTL failures become ``Retry``; other TEMU refusals a clear step error."""
    try:
        yield
    except TemuError as exc:
        if exc.retryable:
            raise Retry(f"TEMU: {exc}") from exc
        raise TemuStepError(f"TEMU refused the call: {exc}") from exc
    except JtlUnavailable as exc:
        raise Retry(exc.message) from exc


async def run_all(calls: Iterable[Awaitable[Any]]) -> list[Any]:
    """Await calls concurrently; the first failure cancels the others and is raised as is."""
    tasks: list[asyncio.Task[Any]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(call)) for call in calls]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


async def _awaited(call: Awaitable[Any]) -> Any:
    return await call


def warn_summary(ctx: StepContext[Any], messages: Sequence[str], what: str) -> None:
    """Report the first warnings one by one and the rest as a count (runs stay readable)."""
    for message in messages[:MAX_LISTED_WARNINGS]:
        ctx.warning(message)
    rest = len(messages) - MAX_LISTED_WARNINGS
    if rest > 0:
        ctx.warning(f"{rest} more {what}")


async def check_connections(settings: TemuSettings) -> dict[str, dict[str, Any]]:
    """TEMU token validity and expiry, its API scopes, and whether JTL answers."""
    temu: dict[str, Any]
    scopes = {"status": "warning", "missing": [], "message": "unknown: no token info from TEMU"}
    try:
        async with make_client(settings, retries=1) as client:
            token = await client.get_token_info()
        scopes = scope_check(token.api_scope_list)
        expires = token.expires_at_seconds
        left = None if expires is None else expires - int(time.time())
        temu = {
            "status": "ok" if left is None or left > 0 else "error",
            "token_valid": left is None or left > 0,
            "token_expires_at": _iso(expires),
            "message": "token valid" if left is None or left > 0 else "token expired",
        }
        if left is not None and 0 < left < TOKEN_WARNING_SECONDS:
            temu.update(status="warning", message=f"token expires in {left // 86_400} days")
    except TemuError as exc:
        temu = {
            "status": "error",
            "token_valid": False,
            "token_expires_at": None,
            "message": str(exc),
        }
    jtl: dict[str, Any]
    try:
        async with make_jtl(settings) as database:
            found = await database.check()
        jtl = {"status": "ok", "version": found.version, "message": f"JTL-Wawi {found.version}"}
    except JtlError as exc:
        jtl = {"status": "error", "version": None, "message": exc.message}
    return {"temu": temu, "scopes": scopes, "jtl": jtl}


def _iso(seconds: int | None) -> str | None:
    return datetime.fromtimestamp(seconds, UTC).isoformat() if seconds else None


_token_cache: dict[str, tuple[float, str | None]] = {}
TOKEN_CACHE_SECONDS = 300.0


async def token_expiry(instance_id: str, settings: TemuSettings) -> str | None:
    """When the instance's TEMU token expires (ISO time), asked at most every five minutes."""
    cached = _token_cache.get(instance_id)
    if cached is not None and time.monotonic() - cached[0] < TOKEN_CACHE_SECONDS:
        return cached[1]
    try:
        async with make_client(settings, retries=0) as client:
            token = await client.get_token_info()
    except TemuError:
        return None
    value = _iso(token.expires_at_seconds)
    _token_cache[instance_id] = (time.monotonic(), value)
    return value
