"""The outbox relay: publishes committed events to the broker, at least once.

It reads unpublished rows in id order, sends them in batches to the ``handle_events`` actor and then marks
them published. A crash between the two sends the event again after a restart; handlers are
idempotent (see :mod:`jobs.actors`). On PostgreSQL, rows are claimed with
``FOR UPDATE SKIP LOCKED`` so several relays (one per API process) share the work.

An event published but still not handled ``redeliver_after`` seconds later is published again:
the broker lost it (Redis restarted without its data, a queue flushed). Handling is exactly once
per handler, so a second message for an event still in the queue costs a no-op. Dead letters
(:mod:`hub.domain.outbox.dead`) are not published again; one published
:data:`~hub.domain.outbox.publishing.MAX_PUBLISHES` times and still not handled becomes one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.outbox import dead, publishing
from jobs.polling import Poller, send_claimed

__all__ = ["OutboxRelay"]

log = logging.getLogger("jobs.relay")

BATCH = publishing.BATCH


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

        async def find(session: AsyncSession, lock: bool) -> list[int]:
            return await publishing.unpublished(session, lock=lock)

        return len(await send_claimed(self.db, find, self.publish, publishing.mark_published))

    async def redeliver_once(self) -> int:
        """Publish again events published more than ``redeliver_after`` seconds ago and still not
        handled; returns how many."""
        late = utcnow() - timedelta(seconds=self.redeliver_after)

        async def find(session: AsyncSession, lock: bool) -> list[int]:
            return await publishing.lost(session, late, lock=lock)

        async def mark(session: AsyncSession, ids: list[int]) -> None:
            await publishing.mark_republished(session, ids, late)

        async with self.db.write() as session:
            buried = await dead.bury_lost(session, late)
        if buried:
            log.error("%d event(s) still not handled after %d publications are dead letters now",
                      buried, publishing.MAX_PUBLISHES)  # fmt: skip
        total = 0
        while True:
            sent = await send_claimed(self.db, find, self.publish, mark)
            total += len(sent)
            if len(sent) < BATCH:
                break
        if total:
            log.warning("published again %d event(s) not handled %.0f s after publishing", total,
                        self.redeliver_after)  # fmt: skip
        return total

    async def tick(self) -> None:
        while await self.relay_once() == BATCH:
            pass
        now = asyncio.get_running_loop().time()
        if now >= self._next_redelivery:
            self._next_redelivery = now + max(self.redeliver_after / 4, self.interval)
            await self.redeliver_once()
