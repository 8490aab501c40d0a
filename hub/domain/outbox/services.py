"""Recording events in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.outbox.models import OutboxEvent

__all__ = ["record_event"]


def record_event(
    session: AsyncSession, kind: str, aggregate: str, aggregate_id: int, payload: dict[str, Any]
) -> OutboxEvent:
    """Add an event to the outbox; it commits (or not) with the caller's transaction."""
    event = OutboxEvent(kind=kind, aggregate=aggregate, aggregate_id=aggregate_id, payload=payload)
    session.add(event)
    return event
