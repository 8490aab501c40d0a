"""Starting and stopping the jobs that live inside ``hub serve`` (and ``hub worker``)."""

from __future__ import annotations

import asyncio
import logging

import dramatiq
from sqlalchemy import update

from hub.db import Database
from hub.domain.integration.services import mark_open_jobs_unsent
from hub.domain.outbox.models import OutboxEvent
from hub.settings import Settings
from jobs import actors, integration
from jobs.broker import install_broker
from jobs.relay import OutboxRelay

__all__ = ["JobRuntime", "publish"]

log = logging.getLogger("jobs.runtime")

# Async actors overlap their database waits; four at a time keep up with a busy API.
WORKER_THREADS = 4


# Events per message: large enough to spread Dramatiq's and each handler transaction's cost,
# small enough that a retried message (one of its events failed) redoes little.
EVENTS_PER_MESSAGE = 50


def publish(ids: list[int]) -> None:
    """Send events to the ``handle_events`` actor in batches (blocking: Redis I/O)."""
    actor = actors.handle_events
    assert actor is not None, "install_broker() first"
    for i in range(0, len(ids), EVENTS_PER_MESSAGE):
        actor.send(ids[i : i + EVENTS_PER_MESSAGE])


class JobRuntime:
    """The outbox relay, plus an in-process Dramatiq worker when there is no Redis."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        in_process_worker: bool | None = None,
        namespace: str = "hub",
        worker_threads: int = WORKER_THREADS,
    ) -> None:
        self.settings = settings
        self.namespace = namespace
        self.worker_threads = max(1, worker_threads)
        self.db = db
        self.broker: dramatiq.Broker | None = None
        self.worker: dramatiq.Worker | None = None
        self.relay: OutboxRelay | None = None
        self.dispatcher: integration.JobDispatcher | None = None
        self.in_process_worker = (
            settings.redis_url is None if in_process_worker is None else in_process_worker
        )

    async def start(self) -> None:
        self.broker = install_broker(self.settings, namespace=self.namespace)
        if self.settings.redis_url is None:
            # The in-memory broker forgets what it held when the process stopped: publish
            # again every event that was handed to it but not handled.
            async with self.db.write() as session:
                result = await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.published_at.is_not(None), OutboxEvent.handled_at.is_(None))
                    .values(published_at=None)
                )
                jobs = await mark_open_jobs_unsent(session)
            if result.rowcount:  # type: ignore[attr-defined]
                log.info("re-publishing %d event(s) not handled before the last stop", result.rowcount)  # type: ignore[attr-defined]
            if jobs:
                log.info("sending again %d integration job(s) open at the last stop", jobs)
        if self.in_process_worker:
            self.worker = dramatiq.Worker(self.broker, worker_threads=self.worker_threads)
            self.worker.start()
            log.info("in-process job worker started")
        self.relay = OutboxRelay(self.db, publish, redeliver_after=self.settings.event_redeliver_seconds)
        self.relay.start()
        self.dispatcher = integration.JobDispatcher(self.db, integration.send)
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
        await integration.close_connectors()
