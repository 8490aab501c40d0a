"""Recording events in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.base import table_of, utcnow
from hub.domain.outbox.models import OutboxEvent

__all__ = ["Backlog", "backlog", "record_event"]


_outbox = table_of(OutboxEvent)
_INSERT = insert(_outbox).returning(_outbox.c.id)


async def record_event(
    session: AsyncSession, kind: str, aggregate: str, aggregate_id: int, payload: dict[str, Any]
) -> int:
    """Write an event to the outbox in the caller's transaction (it commits, or not, with the
    change it reports); returns its id."""
    values = {
        "kind": kind,
        "aggregate": aggregate,
        "aggregate_id": aggregate_id,
        "payload": payload,
        "created_at": utcnow(),
        "attempts": 0,
    }
    return int((await session.execute(_INSERT, values)).scalar_one())


@dataclass(frozen=True, slots=True)
class Backlog:
    """Events written but not yet handled by every handler (dead letters aside), when the
    oldest was written, and how many dead letters there are."""

    unhandled: int
    oldest_created_at: datetime | None
    dead: int = 0


async def backlog(session: AsyncSession) -> Backlog:
    """The outbox backlog, for an operator's metrics: two reads of the partial index
    ``ix_outbox_unhandled`` (only rows neither handled nor dead) and one of ``ix_outbox_dead``."""
    unhandled = and_(OutboxEvent.handled_at.is_(None), OutboxEvent.dead_at.is_(None))
    count = await session.scalar(select(func.count()).select_from(OutboxEvent).where(unhandled))
    oldest = await session.scalar(select(func.min(OutboxEvent.created_at)).where(unhandled))
    dead = OutboxEvent.dead_at.is_not(None)
    dead_count = await session.scalar(select(func.count()).select_from(OutboxEvent).where(dead))
    return Backlog(int(count or 0), oldest, int(dead_count or 0))
