"""A task that polls the database at an interval (the outbox relay and the job dispatcher), and
the way both hand the rows they find to the broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database

__all__ = ["Poller", "send_claimed"]

T = TypeVar("T")


class Poller:
    """Calls :meth:`tick` every ``interval`` seconds until stopped. A failing tick (the broker
    or the database is away) is logged and tried again at the next interval; what it was about
    to do stays in the database."""

    name = "poller"  # the asyncio task's name
    logger = "jobs.poller"
    failure = "poll failed; retrying"  # logged, with the traceback, when a tick raises
    interval: float = 0.2

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._log = logging.getLogger(self.logger)

    async def tick(self) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - the broker or database is away: try again
                self._log.exception(self.failure)
            try:
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            except TimeoutError:
                pass

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None


async def send_claimed(
    db: Database,
    find: Callable[[AsyncSession, bool], Awaitable[Sequence[T]]],
    send: Callable[[list[T]], None],
    mark: Callable[[AsyncSession, list[T]], Awaitable[None]],
) -> list[T]:
    """Hand the rows ``find(session, lock)`` returns to ``send`` (blocking broker I/O: run in a
    thread), then ``mark(session, rows)``; the rows sent.

    A read first, so an idle poll opens no write transaction. On SQLite (one process per file)
    the rows read are sent, then marked in a write transaction of their own: no broker I/O
    happens under SQLite's write lock, and ``mark`` should re-check the condition that found
    them. On PostgreSQL a poller runs in every process: the rows are found again with ``lock``
    (``FOR UPDATE SKIP LOCKED``) and stay locked until they are marked, so each is sent by one
    process.
    """
    async with db.read() as session:
        rows = list(await find(session, False))
    if not rows:
        return []
    if db.is_sqlite:
        await asyncio.to_thread(send, rows)
        async with db.write() as session:
            await mark(session, rows)
        return rows
    async with db.write() as session:
        rows = list(await find(session, True))
        if rows:
            await asyncio.to_thread(send, rows)
            await mark(session, rows)
    return rows
