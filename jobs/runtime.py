"""Starting and stopping the jobs that live inside ``hub serve`` (and ``hub worker``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import dramatiq

from hub.db import Database
from hub.settings import Settings
from jobs import actors
from jobs.broker import install_broker
from jobs.relay import OutboxRelay

__all__ = ["JobRuntime", "publisher"]

log = logging.getLogger("jobs.runtime")


def publisher() -> Callable[[list[int]], None]:
    def publish(ids: list[int]) -> None:
        actor = actors.handle_event
        assert actor is not None, "install_broker() first"
        for event_id in ids:
            actor.send(event_id)

    return publish





class JobRuntime:
    """The outbox relay, plus an in-process Dramatiq worker when there is no Redis."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        in_process_worker: bool | None = None,
        namespace: str = "hub",
    ) -> None:
        self.settings = settings
        self.namespace = namespace
        self.db = db
        self.broker: dramatiq.Broker | None = None
        self.worker: dramatiq.Worker | None = None
        self.relay: OutboxRelay | None = None
        self.in_process_worker = (
            settings.redis_url is None if in_process_worker is None else in_process_worker
        )

    async def start(self) -> None:
        self.broker = install_broker(self.settings, namespace=self.namespace)
        if self.in_process_worker:
            self.worker = dramatiq.Worker(self.broker, worker_threads=1)
            self.worker.start()
            log.info("in-process job worker started")
        self.relay = OutboxRelay(self.db, publisher())
        self.relay.start()

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.broker is not None:
            self.broker.close()
