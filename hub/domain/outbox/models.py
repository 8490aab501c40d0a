from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.domain.base import Base, UTCDateTime, utcnow


class OutboxEvent(Base):
    """An event to publish. Written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    # The backlog (events not yet handled) and its oldest, read at every /metrics scrape: a
    # partial index holds only the unhandled rows, however long the outbox grows.
    __table_args__ = (
        Index(
            "ix_outbox_unhandled",
            "created_at",
            postgresql_where=text("handled_at IS NULL"),
            sqlite_where=text("handled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(80))
    aggregate: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Set once every handler has run: an event published to the in-memory broker but not
    # handled when the process stopped is published again at the next start.
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ProcessedEvent(Base):
    """Marks an outbox event as handled by one handler, so a redelivery is a no-op."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("event_id", "handler"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer)
    handler: Mapped[str] = mapped_column(String(120))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
