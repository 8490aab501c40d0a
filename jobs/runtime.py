"""Starting and stopping the jobs that live inside ``hub serve`` (and ``hub worker``)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import dramatiq

from hub.db import Database
from hub.domain.integration.dispatch import mark_open_jobs_unsent
from hub.domain.outbox.publishing import unpublish_unhandled
from jobs.integration.dispatcher import JobDispatcher
from jobs.relay import OutboxRelay

if TYPE_CHECKING:
    from hub.bootstrap import Runtime

__all__ = ["WORKER_THREADS", "JobRuntime"]

log = logging.getLogger("jobs.runtime")

# Async actors overlap their database waits; four at a time keep up with a busy API.
WORKER_THREADS = 4


class JobRuntime:
    """The outbox relay and the job dispatcher of ``runtime``, plus an in-process Dramatiq
    worker when there is no Redis."""

    def __init__(
        self,
        runtime: Runtime,
        db: Database,
        *,
        in_process_worker: bool | None = None,
        namespace: str = "hub",
        worker_threads: int = WORKER_THREADS,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.namespace = namespace
        self.worker_threads = max(1, worker_threads)
        self.db = db
        self.broker: dramatiq.Broker | None = None
        self.worker: dramatiq.Worker | None = None
        self.relay: OutboxRelay | None = None
        self.dispatcher: JobDispatcher | None = None
        self.in_process_worker = (
            self.settings.redis_url is None if in_process_worker is None else in_process_worker
        )

    async def start(self) -> None:
        self.broker = self.runtime.install_broker(namespace=self.namespace)
        if self.settings.redis_url is None:
            # The in-memory broker forgets what it held when the process stopped: publish
            # again every event that was handed to it but not handled.
            async with self.db.write() as session:
                events = await unpublish_unhandled(session)
                jobs = await mark_open_jobs_unsent(session)
            if events:
                log.info("re-publishing %d event(s) not handled before the last stop", events)
            if jobs:
                log.info("sending again %d integration job(s) open at the last stop", jobs)
        if self.in_process_worker:
            self.worker = dramatiq.Worker(self.broker, worker_threads=self.worker_threads)
            self.worker.start()
            log.info("in-process job worker started")
        self.relay = OutboxRelay(
            self.db, self.runtime.publish, redeliver_after=self.settings.event_redeliver_seconds
        )
        self.relay.start()
        self.dispatcher = JobDispatcher(self.db, self.runtime.send, self.runtime.rules)
        self.dispatcher.start()

    async def stop(self, drain_seconds: float = 30.0) -> None:
        if self.relay is not None:
            await self.relay.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self.worker is not None and self.broker is not None and self.settings.redis_url is None:
            # Let the in-process worker finish what it was handed (what it cannot finish in
            # time is published again at the next start).
            try:
                await asyncio.to_thread(self.broker.join, "events", timeout=int(drain_seconds * 1000))
            except Exception:  # noqa: BLE001 - a timeout: the rest is re-published later
                log.warning("stopping with events still queued; they are re-published at the next start")
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.broker is not None:
            self.broker.close()
        await self.runtime.connectors.aclose()
