"""Dramatiq actors. Thin and idempotent: they take ids and call domain code."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.outbox.models import OutboxEvent, ProcessedEvent
from hub.settings import Settings
from jobs.handlers import Handler, registered

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


_outbox = OutboxEvent.__table__
_processed = ProcessedEvent.__table__
# Core statements on table columns, built once: per event the ORM's identity map, flush and
# update synchronisation cost several times the round trips themselves.
_EVENT = select(*_outbox.c).where(_outbox.c.id == bindparam("id"))
_MARK_HANDLED = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("eid"), _outbox.c.handled_at.is_(None))
    .values(handled_at=bindparam("now"))
)


def _claim(insert: Any) -> Any:
    # Waits for a concurrent claim of the same (event, handler) to commit or roll back, then
    # inserts nothing (returns no row) if that claim stands.
    return (
        insert(_processed)
        .values(event_id=bindparam("eid"), handler=bindparam("handler"), processed_at=bindparam("now"))
        .on_conflict_do_nothing(index_elements=["event_id", "handler"])
        .returning(_processed.c.id)
    )


_CLAIM = {"postgresql": _claim(pg_insert), "sqlite": _claim(sqlite_insert)}


async def deliver_event(db: Database, event_id: int) -> list[str]:
    """Run every handler of the event that has not run for it yet; returns the ones that ran.

    Each handler runs in its own transaction together with its ``ProcessedEvent`` row (the
    claim), so a redelivered event (at-least-once publishing) is handled exactly once per
    handler; the last handler's transaction also marks the event handled. An event already
    marked handled is a no-op. An exception from a handler (its own IntegrityError included)
    rolls back its claim and propagates: Dramatiq retries the job.
    """
    claim = _CLAIM[db.engine.dialect.name]
    event: OutboxEvent | None = None
    pending: list[Handler] = []
    ran: list[str] = []
    i = 0
    while True:
        async with db.write() as session:
            now = utcnow()
            if event is None:
                row = (await session.execute(_EVENT, {"id": event_id})).first()
                if row is None:
                    log.warning("event %s does not exist; dropped", event_id)
                    return []
                if row.handled_at is not None:
                    return []  # every handler has run for it
                event = OutboxEvent(**row._mapping)  # transient: handlers only read it
                pending = registered(event.kind)
                if not pending:
                    await session.execute(_MARK_HANDLED, {"eid": event_id, "now": now})
                    return []
            handler = pending[i]
            params = {"eid": event_id, "handler": handler.name, "now": now}
            if (await session.execute(claim, params)).first() is not None:
                await handler.fn(session, event)
                ran.append(handler.name)
            # else another delivery of the same event ran this handler and committed
            last = i == len(pending) - 1
            if last:  # every earlier handler has run, here or in a committed delivery
                await session.execute(_MARK_HANDLED, {"eid": event_id, "now": now})
        if last:
            return ran
        i += 1


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
