"""``hub worker``: a Dramatiq worker plus the outbox relay, against Redis."""

from __future__ import annotations

import asyncio
import signal

from hub.db import Database
from hub.settings import Settings
from jobs.runtime import JobRuntime


def run_worker(settings: Settings, threads: int = 4) -> int:
    """Run until SIGINT or SIGTERM: the same runtime ``hub serve`` embeds, with the worker on."""

    async def main() -> None:
        db = Database(settings)
        runtime = JobRuntime(settings, db, in_process_worker=True, worker_threads=threads)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        try:
            await stop.wait()
        finally:
            await runtime.stop()
            await db.dispose()

    asyncio.run(main())
    return 0
