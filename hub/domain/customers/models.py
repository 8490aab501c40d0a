"""Trade customers (dealers, distributors, stores), their groups and regions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.domain.base import Base, MoneyColumn, UTCDateTime, utcnow


class CustomerGroup(Base):
    """A price/visibility group of customers (e.g. 一级代理 first-tier distributors)."""

    __tablename__ = "customer_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Region(Base):
    """A sales region (销售大区, e.g. 华东 East China): customers are in one, sales managers
    look after some."""

    __tablename__ = "regions"

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
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    # The staff user who looks after the customer (its 销售代表). users.customer_id points
    # back at customers: the constraint is added after both tables exist (use_alter).
    sales_rep_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, name="fk_customers_sales_rep_id_users"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    group: Mapped[CustomerGroup | None] = relationship(lazy="raise")
    region: Mapped[Region | None] = relationship(lazy="raise")


class UserRegion(Base):
    """A staff user's sales regions (``userUpdate(regionIds)``): what a SALES_MANAGER's reports
    are scoped to."""

    __tablename__ = "user_regions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True, index=True)
