"""A scheduler-and-executor process for the two-process test: runs for N seconds, then exits.

Usage: python -m tests.core._scheduler_process DATABASE_URL EXECUTOR DATA_DIR SECONDS
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.modules.demo import module as demo_module
from jobwerk.modules.registry import register_module


async def main(url: str, executor: str, data_dir: str, seconds: float) -> None:
    settings = Settings(
        data_dir=Path(data_dir),
        database={"url": url},
        engine={"poll_seconds": 0.05, "executor": executor},
        _env_file=None,
    )
    runtime = Runtime(settings)
    register_module(runtime, "demo", demo_module)
    runtime.scheduler.tick_seconds = 0.05
    await runtime.start()
    await asyncio.sleep(seconds)
    await runtime.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
