from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.domain.base import Base, UTCDateTime, utcnow

LAST_ERROR_LENGTH = 300


class OutboxEvent(Base):
    """An event to publish. Written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    # The backlog (events neither handled nor dead) and its oldest, read at every /metrics
    # scrape: a partial index holds only those rows, however long the outbox grows; another
    # holds only the dead letters (their count, and staff's list of them).
    __table_args__ = (
        Index(
            "ix_outbox_unhandled",
            "created_at",
            postgresql_where=text("handled_at IS NULL AND dead_at IS NULL"),
            sqlite_where=text("handled_at IS NULL AND dead_at IS NULL"),
        ),
        Index(
            "ix_outbox_dead",
            "id",
            postgresql_where=text("dead_at IS NOT NULL"),
            sqlite_where=text("dead_at IS NOT NULL"),
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
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # publications
    # Handler failures, over every delivery and redelivery; the last one's time and error (its
    # class and message, truncated: see hub.domain.outbox.dead).
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_LENGTH))
    # A dead letter (死信): it can never apply, or failed MAX_FAILURES times. Not delivered,
    # published again or counted in the backlog until staff retry it (deadEventRetry).
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProcessedEvent(Base):
    """Marks an outbox event as handled by one handler, so a redelivery is a no-op."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("event_id", "handler"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer)
    handler: Mapped[str] = mapped_column(String(120))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
