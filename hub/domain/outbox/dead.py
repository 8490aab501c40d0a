"""Dead letters (死信): events that can never apply, kept for staff instead of retried forever.

A handler failure is recorded on its event (:func:`record_failure`, in a transaction of its own:
the handler's rolled back). The event becomes dead when its handler raises
:class:`~hub.domain.outbox.handlers.EventCannotApply`, when it has failed :data:`MAX_FAILURES`
times over all its deliveries, or when it is still unhandled after
:data:`~hub.domain.outbox.publishing.MAX_PUBLISHES` publications (:func:`bury_lost`). A dead event
is not delivered, not published again and not in the backlog; ADMIN lists them
(:func:`list_dead`) and, once the cause is fixed, sends one back to the relay (:func:`retry_dead`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.base import utcnow
from hub.domain.errors import DomainError
from hub.domain.outbox.handlers import EventCannotApply
from hub.domain.outbox.models import LAST_ERROR_LENGTH, OutboxEvent
from hub.domain.outbox.publishing import MAX_PUBLISHES
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor

__all__ = [
    "MAX_FAILURES",
    "bury_lost",
    "cursor_of",
    "error_text",
    "list_dead",
    "record_failure",
    "retry_dead",
]

# Handler failures of one event, over all its deliveries, after which it is dead: Dramatiq's
# retries of one message (HANDLE_EVENT_OPTIONS) reach it within about 20 minutes.
MAX_FAILURES = 10
_CURSOR = "dead-event"


def error_text(error: BaseException) -> str:
    """What is kept of a handler's error: its class and message on one line, truncated."""
    message = " ".join(str(error).split())
    text = type(error).__name__ + (f": {message}" if message else "")
    return text[:LAST_ERROR_LENGTH]


async def record_failure(
    session: AsyncSession, event_id: int, error: BaseException, *, max_failures: int = MAX_FAILURES
) -> bool:
    """Count one more handler failure of the event and keep its error, in one statement; the
    event dies when the error is :class:`EventCannotApply` or this was failure ``max_failures``.
    True when the event is dead now (whether or not it was before)."""
    now = bindparam("now", utcnow(), type_=OutboxEvent.dead_at.type)
    dead: ColumnElement[datetime | None] = func.coalesce(OutboxEvent.dead_at, now)
    if not isinstance(error, EventCannotApply):
        dead = case((OutboxEvent.failures + 1 >= max_failures, dead), else_=OutboxEvent.dead_at)
    result = await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.handled_at.is_(None))
        .values(failures=OutboxEvent.failures + 1, failed_at=now, last_error=error_text(error), dead_at=dead)
        .returning(OutboxEvent.dead_at)
    )
    row = result.first()
    return row is not None and row[0] is not None


async def bury_lost(session: AsyncSession, late: datetime) -> int:
    """Events published :data:`MAX_PUBLISHES` times, the last one before ``late``, and still not
    handled become dead letters (the relay publishes them no more); how many."""
    result = await session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.handled_at.is_(None),
            OutboxEvent.dead_at.is_(None),
            OutboxEvent.published_at < late,
            OutboxEvent.attempts >= MAX_PUBLISHES,
        )
        .values(dead_at=utcnow(), last_error=f"not handled after {MAX_PUBLISHES} publications")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def list_dead(
    session: AsyncSession, actor: Principal, *, first: int | None = None, after: str | None = None
) -> Page[OutboxEvent]:
    """Dead letters, newest event first.

    Raises:
        DomainError: PERMISSION_DENIED unless ADMIN; INVALID for a bad ``first`` or cursor.
    """
    require(actor, Action.DEAD_EVENTS)
    limit = check_first(first)
    after_id = decode_cursor(_CURSOR, after)
    stmt = select(OutboxEvent).where(OutboxEvent.dead_at.is_not(None))
    if after_id is not None:
        if not after_id.isdigit() or not 0 < int(after_id) < 2**31:
            raise DomainError.invalid("after is not a valid cursor", "after")
        stmt = stmt.where(OutboxEvent.id < int(after_id))
    rows = list((await session.scalars(stmt.order_by(OutboxEvent.id.desc()).limit(limit + 1))).all())
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_next, encode_cursor(_CURSOR, rows[-1].id) if rows else None)


def cursor_of(event: OutboxEvent) -> str:
    """The cursor of a dead letter in :func:`list_dead`'s pages."""
    return encode_cursor(_CURSOR, event.id)


async def retry_dead(session: AsyncSession, actor: Principal, event_id: int) -> OutboxEvent:
    """Bring a dead letter back, once its cause is fixed: it is unpublished with a fresh count
    of failures and publications, so the relay publishes it again and each handler that has
    not run for it yet runs (a handler that did run is not run twice). Its last error is kept
    until it fails again.

    Raises:
        DomainError: PERMISSION_DENIED unless ADMIN; NOT_FOUND unless the event is dead.
    """
    require(actor, Action.DEAD_EVENTS)
    event = await session.scalar(
        select(OutboxEvent)
        .where(and_(OutboxEvent.id == event_id, OutboxEvent.dead_at.is_not(None)))
        .with_for_update()
    )
    if event is None:
        raise DomainError.not_found("Dead event", "id")
    event.dead_at = None
    event.failures = 0
    event.attempts = 0
    event.published_at = None
    await session.flush()
    return event
