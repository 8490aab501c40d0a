"""The job dispatcher: sends jobs to their actors, new ones at once and lost ones once overdue
(which ones is :mod:`hub.domain.integration.dispatch`'s business), and asks for a stock pull at
the ``[stock_sync]`` interval."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.integration import dispatch
from hub.domain.integration.dispatch import DueJob
from hub.domain.integration.policies import IntegrationRules
from jobs.polling import Poller, send_claimed

__all__ = ["JOBS_PER_MESSAGE", "SPREAD", "JobDispatcher"]

# Notify jobs of notifiers that are never digested (one call per event: webhook, null) go to the
# worker up to this many per message (see JobEngine.run_jobs): Dramatiq's cost per message and
# the claim's and the outcome's transactions are paid once per message, not once per job.
JOBS_PER_MESSAGE = 20
# ...spread over at least this many messages when fewer are due, so that a handful of jobs still
# runs on several worker threads at once (the default worker threads of hub worker).
SPREAD = 4


class JobDispatcher(Poller):
    """Sends jobs to their actors: new ones at once, lost ones once overdue. Like the outbox
    relay it runs in every API process; jobs are claimed, so a job sent twice runs once."""

    name = "job-dispatcher"
    logger = "jobs.integration"
    failure = "job dispatch failed; retrying"

    def __init__(self, db: Database, send: Callable[[str, Any], None], rules: IntegrationRules,
                 interval: float = 0.2, overdue: timedelta | None = None) -> None:  # fmt: skip
        super().__init__()
        self.db = db
        self.send = send  # blocking (Redis I/O): runs in a thread
        self.rules = rules
        self.interval = interval
        self.overdue = overdue or rules.overdue
        self._next_pull = 0.0

    def _pull_due(self) -> str | None:
        sync = self.rules.stock_sync
        if sync.source is None or sync.interval <= 0:
            return None
        now = asyncio.get_running_loop().time()
        if now < self._next_pull:
            return None
        self._next_pull = now + sync.interval
        return sync.source

    async def dispatch_once(self) -> int:
        now = utcnow()

        async def find(session: AsyncSession, lock: bool) -> list[DueJob]:
            return await dispatch.due_jobs(session, now, self.overdue, lock=lock)

        async def mark(session: AsyncSession, rows: list[DueJob]) -> None:
            await dispatch.mark_enqueued(session, [r[0] for r in rows], now)

        # Every hub process runs a dispatcher: on PostgreSQL each sends the jobs the others have
        # not locked, so that a new job is sent once, not once per process.
        return len(await send_claimed(self.db, find, self._send_all, mark))

    def _send_all(self, rows: list[DueJob]) -> None:
        together: list[int] = []
        for job_id, operation, role in rows:
            if self.rules.batched(operation, role):
                together.append(job_id)
            else:
                self.send(operation, job_id)
        # Several per message (run_jobs), spread over several messages when only a few are due.
        size = min(JOBS_PER_MESSAGE, max(1, math.ceil(len(together) / SPREAD)))
        for i in range(0, len(together), size):
            chunk = together[i : i + size]
            self.send("notify", chunk if len(chunk) > 1 else chunk[0])

    async def tick(self) -> None:
        while await self.dispatch_once() == dispatch.BATCH:
            pass  # more are due: send them now, not an interval later
        role = self._pull_due()
        if role is not None:
            await asyncio.to_thread(self.send, "pull_stock", role)
