"""Which outbox events the relay publishes, and recording that it did: unpublished ones in id
order, and published ones a broker lost (not handled long after publishing)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.base import utcnow
from hub.domain.outbox.models import OutboxEvent

__all__ = [
    "BATCH",
    "MAX_PUBLISHES",
    "lost",
    "mark_published",
    "mark_republished",
    "unpublish_unhandled",
    "unpublished",
]

BATCH = 200
# The relay publishes an event at most this many times: one still not handled after that
# becomes a dead letter for a person to look at (hub.domain.outbox.dead), not republished forever.
MAX_PUBLISHES = 5
# Dead letters are neither published nor published again until staff retry them.
_ALIVE = OutboxEvent.dead_at.is_(None)


def _lost(late: datetime) -> ColumnElement[bool]:
    return and_(OutboxEvent.handled_at.is_(None), _ALIVE, OutboxEvent.published_at < late)


async def unpublished(session: AsyncSession, *, lock: bool = False) -> list[int]:
    """Up to :data:`BATCH` unpublished event ids, in id order (``lock``: ``FOR UPDATE SKIP
    LOCKED``, so relays in several processes share the work)."""
    stmt = (
        select(OutboxEvent.id)
        .where(OutboxEvent.published_at.is_(None), _ALIVE)
        .order_by(OutboxEvent.id)
        .limit(BATCH)
    )
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    return list(await session.scalars(stmt))


async def lost(session: AsyncSession, late: datetime, *, lock: bool = False) -> list[int]:
    """Up to :data:`BATCH` ids of events published before ``late`` and still not handled, that
    have not been published :data:`MAX_PUBLISHES` times yet."""
    stmt = (
        select(OutboxEvent.id)
        .where(_lost(late), OutboxEvent.attempts < MAX_PUBLISHES)
        .order_by(OutboxEvent.id)
        .limit(BATCH)
    )
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    return list(await session.scalars(stmt))


async def mark_published(session: AsyncSession, event_ids: Sequence[int]) -> None:
    """Record one more publication of these events, where still unpublished."""
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(list(event_ids)), OutboxEvent.published_at.is_(None))
        .values(published_at=utcnow(), attempts=OutboxEvent.attempts + 1)
    )


async def mark_republished(session: AsyncSession, event_ids: Sequence[int], late: datetime) -> None:
    """Record one more publication of these lost events, where still lost."""
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(list(event_ids)), _lost(late))
        .values(published_at=utcnow(), attempts=OutboxEvent.attempts + 1)
    )


async def unpublish_unhandled(session: AsyncSession) -> int:
    """After a restart with the in-memory broker: every event handed to it but not handled is
    to be published again, unless it has been published :data:`MAX_PUBLISHES` times already
    (its handler keeps failing: it stays for a person, not republished at every restart); how
    many. Dead letters stay dead."""
    result = await session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.published_at.is_not(None),
            OutboxEvent.handled_at.is_(None),
            _ALIVE,
            OutboxEvent.attempts < MAX_PUBLISHES,
        )
        .values(published_at=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
