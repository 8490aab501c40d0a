from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.domain.base import Base, MoneyColumn, UTCDateTime, utcnow
from hub.domain.customers.models import Customer
from hub.domain.orders.numbers import format_order_number


class OrderStatus(StrEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class StepStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    SKIPPED = "SKIPPED"


class TimelineKind(StrEnum):
    PLACED = "PLACED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    SHIPPED = "SHIPPED"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_id_id", "customer_id", "id"),
        Index("ix_orders_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(MoneyColumn())
    discount_total: Mapped[Decimal] = mapped_column(MoneyColumn())
    total: Mapped[Decimal] = mapped_column(MoneyColumn())
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The order-level rules (ORDER_TIER, SPEND_THRESHOLD promotions), as the lines' rules are
    # kept: [{"kind": ..., "description": ..., "amount": "200.00"}]. Kept forever, as placed.
    applied_rules: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )

    customer: Mapped[Customer] = relationship(lazy="raise")
    lines: Mapped[list[OrderLine]] = relationship(
        lazy="raise", order_by="OrderLine.line_no", back_populates="order"
    )
    steps: Mapped[list[ApprovalStep]] = relationship(
        lazy="raise", order_by="ApprovalStep.position", back_populates="order"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        lazy="raise", order_by="OrderEvent.id", back_populates="order"
    )

    @property
    def number(self) -> str:
        """The order number people quote on the phone (:mod:`hub.domain.orders.numbers`)."""
        return format_order_number(self.id)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MoneyColumn())
    line_total: Mapped[Decimal] = mapped_column(MoneyColumn())
    # [{"kind": "BASE_PRICE", "description": "..."}]: how the price was reached.
    applied_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # A BUY_X_GET_Y gift line (unit price 0), and this line's part of the order-level discounts
    # (discountTotal spread by lineTotal, largest remainder: they sum to it exactly).
    is_gift: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    order_discount_share: Mapped[Decimal] = mapped_column(
        MoneyColumn(), default=Decimal("0.00"), server_default="0"
    )

    order: Mapped[Order] = relationship(lazy="raise", back_populates="lines")


class ApprovalStep(Base):
    __tablename__ = "approval_steps"
    __table_args__ = (UniqueConstraint("order_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(lazy="raise", back_populates="steps")


class OrderEvent(Base):
    """One entry of an order's timeline."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(254))

    order: Mapped[Order] = relationship(lazy="raise", back_populates="events")


class IdempotencyRecord(Base):
    """Remembers which order an ``idempotencyKey`` of one user produced (kept ≥ 24 h)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
