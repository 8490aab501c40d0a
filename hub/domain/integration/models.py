"""Tables of the integration hub.

- :class:`IntegrationJob`: one unit of work for one connector role (push an order to the ERP,
  cancel an outbound order, send a notification, …), with its attempts, last error and state.
  Created by outbox handlers in the same transaction as the claim of their event, so an event
  yields each of its jobs exactly once; ``key`` makes that a database rule.
- :class:`Binding`: which document at the peer a hub document became (role, entity, hub id →
  external id). Written right after a successful remote create, read before any retried one.
- :class:`InboundEvent`: each event received at ``POST /hooks/<role>``, once: the sender's own
  event id is unique per role, and the row is written in the transaction that records the
  outbox event which applies it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.domain.base import Base, UTCDateTime, utcnow

__all__ = ["Binding", "InboundEvent", "IntegrationJob", "JobStatus", "StockMark"]


class JobStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its first run
    RUNNING = "RUNNING"  # a worker holds it (until lease_until)
    RETRYING = "RETRYING"  # failed transiently; runs again at next_attempt_at
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # refused permanently or out of attempts: a person must look
    CANCELLED = "CANCELLED"  # no longer wanted (the order was cancelled before it was pushed)


OPEN_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.RETRYING)


class IntegrationJob(Base):
    __tablename__ = "integration_jobs"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_integration_jobs_entity", "entity", "entity_id"),
        Index("ix_integration_jobs_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))  # e.g. "erp:push_sales_order:order:42"
    role: Mapped[str] = mapped_column(String(60))  # the connector role: erp, wms, notify.sales
    operation: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))  # order, replenishment, event
    entity_id: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[int | None] = mapped_column(Integer)  # the outbox event that asked for it
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Binding(Base):
    __tablename__ = "integration_bindings"
    __table_args__ = (UniqueConstraint("role", "entity", "hub_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(60))  # sales_order, outbound/WH1, purchase_request
    hub_id: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboundEvent(Base):
    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("role", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(60))
    event_id: Mapped[str] = mapped_column(String(200))  # the sender's id (Qimen outBizCode)
    kind: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StockMark(Base):
    """When the stock level of a product in a warehouse was last set from a snapshot (a stock
    report, a pull): an older snapshot arriving later is not applied."""

    __tablename__ = "stock_marks"
    __table_args__ = (UniqueConstraint("product_id", "warehouse_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer)
    warehouse_id: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(60))
