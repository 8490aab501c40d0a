"""The outbox relay: publishes committed events to the broker, at least once.

It reads unpublished rows in id order, sends them in batches to the ``handle_events`` actor and then marks
them published. A crash between the two sends the event again after a restart; handlers are
idempotent (see :mod:`jobs.actors`). On PostgreSQL, rows are claimed with
``FOR UPDATE SKIP LOCKED`` so several relays (one per API process) share the work.

An event published but still not handled ``redeliver_after`` seconds later is published again:
the broker lost it (Redis restarted without its data, a queue flushed). Handling is exactly once
per handler, so a second message for an event still in the queue costs a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.outbox.models import OutboxEvent
from jobs.polling import Poller

__all__ = ["OutboxRelay"]

log = logging.getLogger("jobs.relay")

BATCH = 200
# The relay publishes an event at most this many times: one whose handler keeps failing (and
# whose Dramatiq retries ran out) stays unhandled for a person to look at, not republished forever.
MAX_PUBLISHES = 5


_PENDING = (
    select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id).limit(BATCH)
)


class OutboxRelay(Poller):
    name = "outbox-relay"
    logger = "jobs.relay"
    failure = "outbox relay failed; retrying"

    def __init__(
        self,
        db: Database,
        publish: Callable[[list[int]], None],
        interval: float = 0.2,
        redeliver_after: float = 1800.0,
    ) -> None:
        super().__init__()
        self.db = db
        self.publish = publish  # blocking (Redis I/O): runs in a thread
        self.interval = interval
        self.redeliver_after = redeliver_after
        self._next_redelivery = 0.0

    async def relay_once(self) -> int:
        """Publish one batch; returns how many events were published."""
        async with self.db.read() as session:  # cheap check, no write lock when idle
            pending = await session.scalar(
                select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None)).limit(1)
            )
        if pending is None:
            return 0
        if self.db.is_sqlite:
            # No broker I/O while holding SQLite's write lock: read, publish, then mark. One
            # relay per SQLite file (one process), so nobody else claims the rows meanwhile.
            async with self.db.read() as session:
                ids = list((await session.execute(_PENDING)).scalars())
            await asyncio.to_thread(self.publish, ids)
            async with self.db.write() as session:
                await session.execute(self._mark(ids))
            return len(ids)
        async with self.db.write() as session:
            # Several relays (one per process) share the work: each claims rows the others
            # have not locked.
            ids = list((await session.execute(_PENDING.with_for_update(skip_locked=True))).scalars())
            if not ids:
                return 0
            await asyncio.to_thread(self.publish, ids)
            await session.execute(self._mark(ids))
        return len(ids)

    async def redeliver_once(self) -> int:
        """Publish again events published more than ``redeliver_after`` seconds ago and still not
        handled; returns how many."""
        late = utcnow() - timedelta(seconds=self.redeliver_after)
        stmt = (
            select(OutboxEvent.id)
            .where(OutboxEvent.handled_at.is_(None), OutboxEvent.published_at < late)
            .where(OutboxEvent.attempts < MAX_PUBLISHES)
            .order_by(OutboxEvent.id)
            .limit(BATCH)
        )
        total = 0
        while True:
            if self.db.is_sqlite:  # one relay per SQLite file: read, publish, then mark
                async with self.db.read() as session:
                    ids = list((await session.execute(stmt)).scalars())
                if ids:
                    await asyncio.to_thread(self.publish, ids)
                    async with self.db.write() as session:
                        await session.execute(self._mark(ids).where(OutboxEvent.published_at < late))
            else:  # several relays: each takes the rows the others have not locked
                async with self.db.write() as session:
                    ids = list((await session.execute(stmt.with_for_update(skip_locked=True))).scalars())
                    if ids:
                        await asyncio.to_thread(self.publish, ids)
                        await session.execute(self._mark(ids))
            total += len(ids)
            if len(ids) < BATCH:
                break
        if total:
            log.warning("published again %d event(s) not handled %.0f s after publishing", total,
                        self.redeliver_after)  # fmt: skip
        return total

    @staticmethod
    def _mark(ids: list[int]):  # type: ignore[no-untyped-def]
        return (
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))
            .values(published_at=utcnow(), attempts=OutboxEvent.attempts + 1)
        )

    async def tick(self) -> None:
        while await self.relay_once() == BATCH:
            pass
        now = asyncio.get_running_loop().time()
        if now >= self._next_redelivery:
            self._next_redelivery = now + max(self.redeliver_after / 4, self.interval)
            await self.redeliver_once()
