"""``jobwerk worker``: executes runs and fires schedules without serving HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from jobwerk.cli._output import console
from jobwerk.cli._runtime import run, settings
from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.manager.module_manager import ModuleManager
from jobwerk.modules.registry import ModuleRegistry


def worker() -> None:
    run(work(settings(serving=True)))


async def work(loaded: Settings) -> None:
    """Execute queued runs of every module (installed ones too) until SIGINT or SIGTERM; the
    runs' live events reach every server on the same database."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    runtime = Runtime(loaded)
    modules = ModuleRegistry()
    modules.discover(loaded.modules)
    modules.attach(runtime)
    ModuleManager(runtime, modules).load_installed()
    await runtime.start(executor=True)
    try:
        await modules.startup(runtime)
        console.print(f"jobwerk worker {runtime.env.worker} executing runs")
        await stop.wait()
    finally:
        await modules.shutdown(runtime)
        await runtime.stop()
