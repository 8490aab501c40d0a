"""The composition root: one place that builds the hub's runtime from its settings.

:func:`build_runtime` loads the connector file, turns its rules into the domain's values,
registers the outbox handlers, and builds the connectors (each on first use) and the job
engine. :meth:`Runtime.install_broker` creates the Dramatiq broker and declares the actors on
it, each with its policy. ``hub serve`` (:mod:`hub.app`), ``hub worker`` and ``hub stock``
(:mod:`hub.cli`) and the tests build theirs here; nothing is registered at import time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import dramatiq
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.domain.integration.inbound import INBOUND_KINDS, apply_inbound
from hub.domain.integration.policies import IntegrationRules
from hub.domain.integration.routing import create_jobs
from hub.domain.outbox.handlers import Handlers, log_event
from hub.domain.outbox.models import OutboxEvent
from hub.hooks import Hooks
from hub.integration import Connectors, IntegrationConfig, load_integration
from hub.settings import Settings
from jobs.actors import EventActor, deliver_events
from jobs.broker import create_broker
from jobs.integration import IntegrationActors, JobEngine
from jobs.runtime import WORKER_THREADS, JobRuntime

__all__ = ["Runtime", "build_runtime"]


def outbox_handlers(rules: IntegrationRules) -> Handlers:
    """The outbox handlers, in the order every event meets them: ``log``, ``inbound`` (what a
    peer reported) and, when a connector is configured, ``integration`` (events → jobs; a hub
    without connectors pays nothing for it per event)."""
    handlers = Handlers()
    handlers.register("log", {"*"}, log_event)
    handlers.register("inbound", INBOUND_KINDS, apply_inbound)
    if rules.roles:

        async def integration(session: AsyncSession, event: OutboxEvent) -> None:
            await create_jobs(session, event, rules)

        handlers.register("integration", {"*"}, integration)
    return handlers


@dataclass
class Runtime:
    """Everything the hub runs with, built once per process (tests build one per test)."""

    settings: Settings
    config: IntegrationConfig
    rules: IntegrationRules
    handlers: Handlers
    connectors: Connectors
    engine: JobEngine
    broker: dramatiq.Broker | None = None
    events: EventActor | None = None
    actors: IntegrationActors | None = None
    _worker_db: Database | None = field(default=None, repr=False)

    def hooks(self, db: Database) -> Hooks:
        """The ``POST /hooks/<role>`` endpoint over ``db``."""
        return Hooks(self.config, db)

    def worker_db(self) -> Database:
        """The database of the actors: one per worker event loop (connections belong to the loop
        that made them), made at the first message after :meth:`install_broker`."""
        if self._worker_db is None:
            self._worker_db = Database(self.settings)
        return self._worker_db

    def install_broker(self, namespace: str = "hub") -> dramatiq.Broker:
        """Create the broker (Redis with ``HUB_REDIS_URL``, else in memory; made global) and
        declare the actors on it: ``handle_events``, one per integration operation with its
        policy, and ``pull_stock``. ``namespace`` prefixes the Redis keys (tests use their own)."""
        self._worker_db = None  # belonged to another worker loop; let it go
        broker = create_broker(self.settings.redis_url, namespace=namespace)
        self.events = EventActor(broker, partial(self.deliver_events, None))
        self.actors = IntegrationActors(broker, self.engine, self.rules, self.worker_db)
        self.broker = broker
        return broker

    async def deliver_events(self, db: Database | None, event_ids: Sequence[int]) -> dict[int, list[str]]:
        """Run the handlers of these events (see :func:`jobs.actors.deliver_events`); ``db``
        None: the worker's."""
        return await deliver_events(db or self.worker_db(), self.handlers, event_ids)

    def publish(self, event_ids: list[int]) -> None:
        """Send events to ``handle_events`` (blocking: broker I/O)."""
        assert self.events is not None, "install_broker() first"
        self.events.publish(event_ids)

    def send(self, operation: str, arg: Any) -> None:
        """Send a job to its actor (blocking: broker I/O)."""
        assert self.actors is not None, "install_broker() first"
        self.actors.send(operation, arg)

    def job_runtime(
        self, db: Database, *, in_process_worker: bool | None = None, namespace: str = "hub",
        worker_threads: int = WORKER_THREADS,
    ) -> JobRuntime:  # fmt: skip
        """The relay, dispatcher and (without Redis, or when asked) worker of this runtime."""
        return JobRuntime(self, db, in_process_worker=in_process_worker, namespace=namespace,
                          worker_threads=worker_threads)  # fmt: skip


def build_runtime(
    settings: Settings, *, config: IntegrationConfig | None = None, environ: Mapping[str, str] | None = None
) -> Runtime:
    """The runtime of ``settings``: its connector file read (or ``config``), validated, and wired.

    Raises:
        ConfigError: the connector file is wrong (one line naming the file and the setting).
    """
    cfg = load_integration(settings, environ) if config is None else config
    rules = cfg.values(settings.job_lease_seconds, settings.job_overdue_seconds)
    connectors = Connectors(cfg)
    return Runtime(
        settings=settings,
        config=cfg,
        rules=rules,
        handlers=outbox_handlers(rules),
        connectors=connectors,
        engine=JobEngine(rules, connectors),
    )
