"""Recording events in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.base import table_of, utcnow
from hub.domain.outbox.models import OutboxEvent

__all__ = ["record_event"]


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
