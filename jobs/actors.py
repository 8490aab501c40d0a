"""Dramatiq actors. Thin and idempotent: they take ids and call domain code."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import dramatiq
from sqlalchemy import Integer, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.fastsql import Statement, driver, is_postgresql
from hub.domain.outbox.models import OutboxEvent, ProcessedEvent
from hub.settings import Settings
from jobs.handlers import Handler, registered

__all__ = ["declare", "deliver_event", "deliver_events", "handle_event", "handle_events", "read_events"]

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
_ALL_EVENTS = select(*_outbox.c).order_by(_outbox.c.id)
_EVENTS = Statement(
    _ALL_EVENTS.where(_outbox.c.id.in_(bindparam("ids", expanding=True))),
    pg=_ALL_EVENTS.where(_outbox.c.id == any_(bindparam("ids", type_=ARRAY(Integer)))),
)
_EVENT_KEYS = tuple(c.key for c in _outbox.c)
_MARK = update(_outbox).where(_outbox.c.handled_at.is_(None)).values(handled_at=bindparam("now"))
_MARK_HANDLED = Statement(
    _MARK.where(_outbox.c.id.in_(bindparam("ids", expanding=True))),
    pg=_MARK.where(_outbox.c.id == any_(bindparam("ids", type_=ARRAY(Integer)))),
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


_CLAIM = Statement(_claim(sqlite_insert), pg=_claim(pg_insert))
# PostgreSQL: the whole batch claimed in one statement (same waiting rule per row).
_CLAIM_MANY_PG = """
INSERT INTO processed_events (event_id, handler, processed_at)
SELECT unnest($1::int[]), $2::varchar, $3::timestamptz
ON CONFLICT (event_id, handler) DO NOTHING
RETURNING event_id"""


async def read_events(session: AsyncSession, event_ids: Sequence[int]) -> list[OutboxEvent]:
    """The events with these ids, in id order, as detached read-only instances (one Core
    statement, no identity map)."""
    rows = await _EVENTS.all(session, {"ids": list(event_ids)})
    return [OutboxEvent(**dict(zip(_EVENT_KEYS, r, strict=True))) for r in rows]


async def _run_handler(session: AsyncSession, handler: Handler, events: list[OutboxEvent]) -> list[int]:
    """Claim and run ``handler`` for each event in the caller's transaction; the ids it ran for
    (an event another delivery has claimed, and committed, is skipped)."""
    now = utcnow()
    if is_postgresql(session):
        args = [[e.id for e in events], handler.name, now]
        claimed = {r[0] for r in await (await driver(session)).fetch(_CLAIM_MANY_PG, args)}
    else:
        claimed = set()
        for event in events:
            if await _CLAIM.all(session, {"eid": event.id, "handler": handler.name, "now": now}):
                claimed.add(event.id)
    done = []
    for event in events:
        if event.id in claimed:
            await handler.fn(session, event)
            done.append(event.id)
    return done


async def deliver_events(db: Database, event_ids: Sequence[int]) -> dict[int, list[str]]:
    """Run every handler of the events that has not run for them yet; returns, per event id,
    the handlers that ran.

    A handler runs for the whole batch in one transaction, each event together with its
    ``ProcessedEvent`` row (the claim), so a redelivered event (at-least-once publishing) is
    handled exactly once per handler. If the handler fails for one of them, the batch rolls
    back and each event runs again in a transaction of its own, so the others are not held
    back; an event whose handler failed gets none of its later handlers, and the first
    failure is raised after the rest are done (Dramatiq retries the message; what was done is
    a no-op then). Events whose handlers all ran are marked handled; an event already marked
    handled is a no-op.
    """
    async with db.read() as session:
        events = await read_events(session, event_ids)
    for missing in sorted(set(event_ids) - {e.id for e in events}):
        log.warning("event %s does not exist; dropped", missing)
    todo = [e for e in events if e.handled_at is None]
    ran: dict[int, list[str]] = {e.id: [] for e in events}
    # Handlers in the order they were registered, each with the events of its kinds: every
    # event meets its handlers in registration order, as a delivery of it alone would.
    by_handler: dict[str, tuple[Handler, list[OutboxEvent]]] = {}
    for handler in registered():
        mine = [e for e in todo if "*" in handler.kinds or e.kind in handler.kinds]
        if mine:
            by_handler[handler.name] = (handler, mine)
    failures: list[Exception] = []
    failed: set[int] = set()
    for handler, batch in by_handler.values():
        batch = [e for e in batch if e.id not in failed]
        groups = [batch]
        while groups:
            group = groups.pop(0)
            if not group:
                continue
            try:
                async with db.write() as session:
                    done = await _run_handler(session, handler, group)
            except Exception as e:  # noqa: BLE001 - any handler error: isolate it, retry later
                if len(group) > 1:
                    groups.extend([event] for event in group)  # one transaction each
                else:
                    failures.append(e)
                    failed.add(group[0].id)
                continue
            for event_id in done:
                ran[event_id].append(handler.name)
    complete = [e.id for e in todo if e.id not in failed]
    if complete:
        async with db.write() as session:
            await _MARK_HANDLED.all(session, {"ids": complete, "now": utcnow()})
    if failures:
        raise failures[0]
    return ran


async def deliver_event(db: Database, event_id: int) -> list[str]:
    """:func:`deliver_events` for one event: the handlers that ran for it."""
    return (await deliver_events(db, [event_id])).get(event_id, [])


async def _handle_events(event_ids: list[int]) -> None:
    await deliver_events(_db(), event_ids)


async def _handle_event(event_id: int) -> None:
    await deliver_events(_db(), [event_id])


# The relay sends events in batches: Dramatiq's own cost per message (broker round trips,
# middleware, thread hand-offs) is paid once per batch, and so is each handler's transaction.
handle_events: dramatiq.Actor[Any, Any] | None = None
# One event per message: what releases before batching sent; still served.
handle_event: dramatiq.Actor[Any, Any] | None = None


def declare(broker: dramatiq.Broker, settings: Settings) -> None:
    """Declare the actors on ``broker`` (called once the broker is chosen)."""
    global handle_event, handle_events
    _state["settings"] = settings
    old = _state.pop("db", None)
    del old  # belonged to another worker loop; let it go
    handle_events = dramatiq.actor(
        _handle_events, actor_name="handle_events", queue_name="events", broker=broker, **HANDLE_EVENT_OPTIONS
    )
    handle_event = dramatiq.actor(
        _handle_event, actor_name="handle_event", queue_name="events", broker=broker, **HANDLE_EVENT_OPTIONS
    )
    from hub.integration import load_integration
    from jobs import integration

    integration.configure(
        load_integration(settings), settings.job_lease_seconds, settings.job_overdue_seconds
    )
    integration.declare(broker, _db)
