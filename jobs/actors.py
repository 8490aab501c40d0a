"""Dramatiq actors. Thin and idempotent: they take ids and call domain code."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.outbox.models import OutboxEvent, ProcessedEvent
from hub.settings import Settings
from jobs.handlers import registered

__all__ = ["declare", "deliver_event", "handle_event"]

log = logging.getLogger("jobs.actors")

# One Database per worker event loop: connections belong to the loop that made them.
_state: dict[str, Any] = {}

# Explicit retry policy: a handler failure is retried 10 times over about 20 minutes,
# then the message is dead-lettered (not Dramatiq's 20 retries over ~30 days).
HANDLE_EVENT_OPTIONS = {"max_retries": 10, "min_backoff": 1_000, "max_backoff": 300_000}


def _db() -> Database:
    db = _state.get("db")
    if db is None:
        db = Database(_state["settings"])
        _state["db"] = db
    return db  # type: ignore[no-any-return]


async def deliver_event(db: Database, event_id: int) -> list[str]:
    """Run every handler of the event that has not run for it yet; returns the ones that ran.

    Each handler runs in its own transaction together with its ``ProcessedEvent`` row, so a
    redelivered event (at-least-once publishing) is handled exactly once per handler.
    """
    async with db.read() as session:
        event = await session.get(OutboxEvent, event_id)
        if event is None:
            log.warning("event %s does not exist; dropped", event_id)
            return []
        done = set(
            (
                await session.execute(
                    select(ProcessedEvent.handler).where(ProcessedEvent.event_id == event_id)
                )
            ).scalars()
        )
    ran = []
    pending = [h for h in registered(event.kind) if h.name not in done]
    mark_handled = (
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.handled_at.is_(None))
        .values(handled_at=utcnow())
    )
    for i, handler in enumerate(pending):
        try:
            async with db.write() as session:
                session.add(ProcessedEvent(event_id=event_id, handler=handler.name))
                try:
                    await session.flush()  # claims the handler; a racing duplicate fails here
                except IntegrityError:
                    raise _Claimed from None
                # An IntegrityError from the handler itself propagates: the job is retried.
                await handler.fn(session, event)
                if i == len(pending) - 1:
                    await session.execute(mark_handled)  # same transaction as the last handler
        except _Claimed:
            continue  # another delivery of the same event claimed it first
        ran.append(handler.name)
    if event.handled_at is None and (not ran or ran[-1] != pending[-1].name):
        async with db.write() as session:
            await session.execute(mark_handled)
    return ran


class _Claimed(Exception):
    pass


async def _handle_event(event_id: int) -> None:
    await deliver_event(_db(), event_id)


handle_event: dramatiq.Actor[Any, Any] | None = None


def declare(broker: dramatiq.Broker, settings: Settings) -> None:
    """Declare the actors on ``broker`` (called once the broker is chosen)."""
    global handle_event
    _state["settings"] = settings
    old = _state.pop("db", None)
    del old  # belonged to another worker loop; let it go
    handle_event = dramatiq.actor(
        _handle_event, actor_name="handle_event", queue_name="events", broker=broker, **HANDLE_EVENT_OPTIONS
    )
