from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.domain.base import Base, MoneyColumn, UTCDateTime, utcnow


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("base_price >= 0", name="base_price_non_negative"),
        CheckConstraint("cost_price IS NULL OR cost_price >= 0", name="cost_price_non_negative"),
        CheckConstraint("min_order_quantity >= 1", name="min_order_quantity_positive"),
        CheckConstraint("order_multiple >= 1", name="order_multiple_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    base_price: Mapped[Decimal] = mapped_column(MoneyColumn())
    cost_price: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    # MOQ (起订量) and order multiple (箱规) of the SKU's merged quantity in an order.
    min_order_quantity: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    order_multiple: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    category: Mapped[Category | None] = relationship(lazy="raise")
