from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.domain.base import Base, MoneyColumn, UTCDateTime, utcnow


class CustomerGroup(Base):
    """A price/visibility group of customers (e.g. 一级经销商 first-tier dealers)."""

    __tablename__ = "customer_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_limit: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    group_id: Mapped[int | None] = mapped_column(ForeignKey("customer_groups.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    group: Mapped[CustomerGroup | None] = relationship(lazy="raise")
