"""Handling delivered events exactly once per handler, in the caller's transaction: reading the
events, claiming an event for a handler (a ``processed_events`` row), marking them handled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.base import table_of, utcnow
from hub.domain.fastsql import Statement, driver, is_postgresql
from hub.domain.outbox.handlers import Handler
from hub.domain.outbox.models import OutboxEvent, ProcessedEvent

__all__ = ["mark_handled", "read_events", "run_handler"]

_outbox = table_of(OutboxEvent)
_processed = table_of(ProcessedEvent)
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


async def run_handler(session: AsyncSession, handler: Handler, events: Sequence[OutboxEvent]) -> list[int]:
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


async def mark_handled(session: AsyncSession, event_ids: Sequence[int], now: datetime | None = None) -> None:
    """Mark these events handled (every handler ran for them), in one statement."""
    await _MARK_HANDLED.all(session, {"ids": list(event_ids), "now": now or utcnow()})
