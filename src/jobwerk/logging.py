"""structlog set-up: console or JSON lines, context variables first, secrets masked, every failure
one bounded line without local variables, repeated failures collapsed."""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import IO, Any

import structlog
from pydantic import SecretBytes, SecretStr

SECRET_KEY = re.compile(
    r"secret|token|password|passwd|api_?key|authorization|cookie|credential|sign$", re.I
)
# user:password@ in a URL (database, JTL and proxy URLs); the user name stays readable.
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.I)
MASK = "***"
# A rendered failure never grows beyond this: the innermost frames are the ones that explain it.
TRACE_FRAMES = 12
TRACE_CHARS = 2_000
# An identical failure (same logger, message, error type and place) within this many seconds is
# counted, not written again; the next one written after the window carries the count.
COLLAPSE_SECONDS = 60.0


def mask_text(text: str) -> str:
    """``text`` with the passwords of URLs in it masked."""
    return URL_PASSWORD.sub(rf"\g<head>{MASK}@", text)


def mask_secrets(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with every entry whose name suggests a secret, every pydantic secret
    and every URL password masked."""
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if key and SECRET_KEY.search(key) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {name: mask_secrets(item, str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    return value


def _exception(value: Any) -> BaseException | None:
    if isinstance(value, BaseException):
        return value
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return value[1]
    if value is True:
        return sys.exception()
    return None


def _describe_exception(error: BaseException) -> tuple[str, str]:
    """The error (type and masked first line of its message) and where it happened: the
    innermost frames as ``file:line function``, outermost first, bounded in size. Frame locals
    are never read."""
    kind = type(error)
    message = str(error).strip().splitlines()
    text = f"{kind.__name__}: {mask_text(message[0])}" if message else kind.__name__
    frames = traceback.extract_tb(error.__traceback__)[-TRACE_FRAMES:]
    where = " > ".join(f"{_short(frame.filename)}:{frame.lineno} {frame.name}" for frame in frames)
    cause = error.__cause__ or error.__context__
    if cause is not None and not error.__suppress_context__:
        where += f" (from {type(cause).__name__})"
    return text[:TRACE_CHARS], where[-TRACE_CHARS:]


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/src/"):
        if marker in filename:
            return filename.rsplit(marker, 1)[1]
    return filename


def _render_exception(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    error = _exception(event_dict.pop("exc_info", None))
    event_dict.pop("stack_info", None)
    if error is not None:
        event_dict["error"], event_dict["where"] = _describe_exception(error)
    return event_dict


def _mask_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        event_dict[key] = mask_secrets(value, "" if key == "event" else key)
    return event_dict


class FailureCollapser:
    """Writes the first of identical failures, counts the repeats for ``seconds``, then writes
    the next one with ``repeated``, ``first_at`` and ``last_at`` — so a failure storm costs a
    line a minute, not a line a request. :meth:`flush` writes counts of quiet failures."""

    def __init__(self, seconds: float = COLLAPSE_SECONDS) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        # key → (window start, suppressed count, first suppressed at, last suppressed at)
        self._seen: dict[tuple[str, ...], tuple[float, int, str, str]] = {}

    def __call__(
        self, _logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        failed = method in ("error", "exception", "critical")
        if not (failed or (method == "warning" and event_dict.get("error"))):
            return event_dict
        key = tuple(str(event_dict.get(name, "")) for name in ("logger", "event", "error", "where"))
        now = time.monotonic()
        stamp = datetime.now(UTC).isoformat()
        with self._lock:
            start, count, first, last = self._seen.get(key, (now - self.seconds, 0, "", ""))
            if now - start < self.seconds:
                self._seen[key] = (start, count + 1, first or stamp, stamp)
                raise structlog.DropEvent
            self._seen[key] = (now, 0, "", "")
        if count:
            event_dict.update(repeated=count, first_at=first, last_at=last)
        return event_dict

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()

    def flush(self, *, everything: bool = False) -> None:
        """Write one line per failure whose repeats were counted and whose window has passed
        (``everything``: whatever the window)."""
        now = time.monotonic()
        with self._lock:
            due = {
                key: entry
                for key, entry in self._seen.items()
                if entry[1] and (everything or now - entry[0] >= self.seconds)
            }
            for key in due:
                self._seen[key] = (now - self.seconds, 0, "", "")
            for key, entry in list(self._seen.items()):
                if not entry[1] and now - entry[0] >= self.seconds:
                    del self._seen[key]
        for (name, event, error, where), (_start, count, first, last) in due.items():
            logging.getLogger(name or "jobwerk").warning(
                "%s (repeated)",
                event,
                extra={"repeated": count, "first_at": first, "last_at": last, "error": error}
                | ({"where": where} if where else {}),
            )


collapser = FailureCollapser()
_flusher_started = False


def _flush_forever() -> None:
    while True:
        time.sleep(collapser.seconds / 4)
        collapser.flush()


def _start_flusher() -> None:
    global _flusher_started
    if not _flusher_started:
        _flusher_started = True
        threading.Thread(target=_flush_forever, name="jobwerk-log-collapse", daemon=True).start()
        atexit.register(_flush_at_exit)


def _flush_at_exit() -> None:
    # A stream closed before the interpreter ends (a test's capture) takes nothing more.
    streams = [getattr(handler, "stream", None) for handler in logging.getLogger().handlers]
    if not any(getattr(stream, "closed", False) for stream in streams):
        collapser.flush(everything=True)


def _extra_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # The collapser's summary lines come through the standard library with their fields in
    # the record's extra attributes.
    record = event_dict.get("_record")
    if record is not None:
        for name in ("repeated", "first_at", "last_at", "error", "where"):
            if name in record.__dict__:
                event_dict[name] = record.__dict__[name]
    return event_dict


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that lets the collapser drop a standard library record."""

    def emit(self, record: logging.LogRecord) -> None:
        # DropEvent is a BaseException: the standard handler's error handling lets it through.
        with contextlib.suppress(structlog.DropEvent):
            super().emit(record)


def configure_logging(
    level: str = "INFO", fmt: str = "console", stream: IO[str] | None = None
) -> None:
    """Route structlog and the standard library's logging through one renderer, to ``stream``
    (standard error by default)."""
    collapser.reset()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _extra_fields,
        _render_exception,
        _mask_processor,
        collapser,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Their debug lines carry SQL parameters and request details: never below WARNING.
    for noisy in (
        "uvicorn.access",
        "sqlalchemy.engine",
        "aiosqlite",
        "httpx",
        "httpcore",
        "alembic",
        "hpack",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    _start_flusher()
