"""``hub worker``: a Dramatiq worker plus the outbox relay, against Redis."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

from hub.db import Database
from jobs.runtime import JobRuntime

if TYPE_CHECKING:
    from hub.bootstrap import Runtime


def run_worker(runtime: Runtime, threads: int = 4) -> int:
    """Run until SIGINT or SIGTERM: the same job runtime ``hub serve`` embeds, with the worker on."""

    async def main() -> None:
        db = Database(runtime.settings)
        jobs = JobRuntime(runtime, db, in_process_worker=True, worker_threads=threads)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await jobs.start()
        try:
            await stop.wait()
        finally:
            await jobs.stop()
            await db.dispose()

    asyncio.run(main())
    return 0
