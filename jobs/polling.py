"""A task that polls the database at an interval: the outbox relay and the job dispatcher."""

from __future__ import annotations

import asyncio
import logging

__all__ = ["Poller"]


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
