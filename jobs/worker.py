"""``hub worker``: a Dramatiq worker plus the outbox relay, against Redis."""

from __future__ import annotations

import asyncio
import logging
import signal

import dramatiq

from hub.db import Database
from hub.settings import Settings
from jobs.broker import install_broker
from jobs.relay import OutboxRelay
from jobs.runtime import publisher

log = logging.getLogger("jobs.worker")


def run_worker(settings: Settings, threads: int = 4) -> int:
    broker = install_broker(settings)
    worker = dramatiq.Worker(broker, worker_threads=max(1, threads))
    worker.start()
    log.info("worker started with %d thread(s)", threads)

    async def relay_forever() -> None:
        db = Database(settings)
        relay = OutboxRelay(db, publisher())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        relay.start()
        await stop.wait()
        await relay.stop()
        await db.dispose()

    try:
        asyncio.run(relay_forever())
    finally:
        worker.stop()
        broker.close()
    return 0
