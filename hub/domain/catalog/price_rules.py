"""Where the pricing and visibility rules of issue 10 are stored (API.md "Pricing and catalog
management"). The engine in :mod:`hub.domain.pricing` takes them as plain values; a loader reads
them once per page or order, per customer, never per product or line — the indexes below are
those reads:

- ``price_lists`` of the customer's group (``ix_price_lists_customer_group_id``), their
  ``price_list_items`` for the page's products (the unique key leads with ``price_list_id``,
  then ``product_id``);
- ``customer_prices`` of the customer for the page's products (unique key leads with
  ``customer_id``, ``product_id``);
- ``order_amount_tiers`` of the group; ``visibility_rules`` of the customer and of its group;
- the active ``promotions`` (``ix_promotions_ends_at``: the ones not yet over) and the
  customer's ``promotion_usages``.

Money is NUMERIC(14, 2) (:func:`~hub.domain.base.MoneyColumn`); percentages NUMERIC(5, 2).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.domain.base import Base, MoneyColumn, UTCDateTime, utcnow

__all__ = [
    "CustomerPrice",
    "OrderAmountTier",
    "PriceList",
    "PriceListItem",
    "Promotion",
    "PromotionKind",
    "PromotionUsage",
    "VisibilityMode",
    "VisibilityRule",
]


def Percent() -> Numeric[Decimal]:
    """NUMERIC(5, 2): 0.00 to 100.00."""
    return Numeric(5, 2, asdecimal=True)


class PriceList(Base):
    """A customer group's price list (价目表): valid from ``valid_from`` (inclusive) to
    ``valid_to`` (exclusive); of a group's valid lists the highest ``priority``, then the
    newest, is tried first."""

    __tablename__ = "price_lists"
    __table_args__ = (
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from", name="valid_window"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    customer_group_id: Mapped[int] = mapped_column(ForeignKey("customer_groups.id"), index=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PriceListItem(Base):
    """One price of a list: ``unit_price`` from ``min_quantity`` units on (a quantity break)."""

    __tablename__ = "price_list_items"
    __table_args__ = (
        UniqueConstraint("price_list_id", "product_id", "min_quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
        CheckConstraint("min_quantity >= 1", name="min_quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_lists.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    unit_price: Mapped[Decimal] = mapped_column(MoneyColumn())
    min_quantity: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class CustomerPrice(Base):
    """A customer's own price (一客一价) for a product, from ``min_quantity`` units on, within
    an optional validity window."""

    __tablename__ = "customer_prices"
    __table_args__ = (
        UniqueConstraint("customer_id", "product_id", "min_quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
        CheckConstraint("min_quantity >= 1", name="min_quantity_positive"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from", name="valid_window"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    unit_price: Mapped[Decimal] = mapped_column(MoneyColumn())
    min_quantity: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OrderAmountTier(Base):
    """An order-amount tier of a group: ``percent_off`` the subtotal from ``min_amount`` on."""

    __tablename__ = "order_amount_tiers"
    __table_args__ = (
        UniqueConstraint("customer_group_id", "min_amount"),
        CheckConstraint("min_amount >= 0", name="min_amount_non_negative"),
        CheckConstraint("percent_off > 0 AND percent_off <= 100", name="percent_off_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_group_id: Mapped[int] = mapped_column(ForeignKey("customer_groups.id"))
    min_amount: Mapped[Decimal] = mapped_column(MoneyColumn())
    percent_off: Mapped[Decimal] = mapped_column(Percent())


class PromotionKind(StrEnum):
    PERCENT_OFF = "PERCENT_OFF"
    AMOUNT_OFF_PER_UNIT = "AMOUNT_OFF_PER_UNIT"
    SPEND_THRESHOLD = "SPEND_THRESHOLD"
    BUY_X_GET_Y = "BUY_X_GET_Y"


class Promotion(Base):
    """A time-boxed promotion (促销), as ``promotionCreate`` takes it.

    The four scope lists are JSON arrays of ids on the row rather than child tables: the loader
    reads every active promotion at once (a few dozen rows at most, whatever the customer) and
    matches scopes in Python, so one statement with no joins serves a page or an order; child
    tables would cost four more statements or a join that multiplies the rows. Nothing queries a
    promotion by one of its scope ids, and a promotion's scope never changes after it is created
    (it is ended and a new one created), so the lists need no per-entry updates either.
    ``product_ids`` are the products of ``skus`` (SKUs never change); an empty list means "all".
    """

    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('PERCENT_OFF', 'AMOUNT_OFF_PER_UNIT', 'SPEND_THRESHOLD', 'BUY_X_GET_Y')",
            name="kind_known",
        ),
        CheckConstraint("value IS NULL OR value >= 0", name="value_non_negative"),
        CheckConstraint("threshold IS NULL OR threshold >= 0", name="threshold_non_negative"),
        CheckConstraint("buy_quantity IS NULL OR buy_quantity >= 1", name="buy_quantity_positive"),
        CheckConstraint("get_quantity IS NULL OR get_quantity >= 1", name="get_quantity_positive"),
        CheckConstraint(
            "usage_limit_per_customer IS NULL OR usage_limit_per_customer >= 1",
            name="usage_limit_positive",
        ),
        CheckConstraint("ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="window"),
        Index("ix_promotions_ends_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    # PERCENT_OFF: percent; AMOUNT_OFF_PER_UNIT: off each unit; SPEND_THRESHOLD: off the order.
    value: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    threshold: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    buy_quantity: Mapped[int | None] = mapped_column(Integer)
    get_quantity: Mapped[int | None] = mapped_column(Integer)
    gift_product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    category_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    customer_group_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    customer_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    applies_to_contract_prices: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    usage_limit_per_customer: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PromotionUsage(Base):
    """How many orders of a customer used a promotion, for ``usageLimitPerCustomer``: counted
    with one conditional UPDATE (or INSERT on the unique pair), so racing orders cannot both
    take the last use."""

    __tablename__ = "promotion_usages"
    __table_args__ = (CheckConstraint("used >= 0", name="used_non_negative"),)

    promotion_id: Mapped[int] = mapped_column(
        ForeignKey("promotions.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True, index=True)
    used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class VisibilityMode(StrEnum):
    ALLOW = "ALLOW"
    DENY = "DENY"


class VisibilityRule(Base):
    """One entry of a group's or a customer's allow or deny list: a category or a product."""

    __tablename__ = "visibility_rules"
    __table_args__ = (
        CheckConstraint("(customer_group_id IS NULL) <> (customer_id IS NULL)", name="one_target"),
        CheckConstraint("(category_id IS NULL) <> (product_id IS NULL)", name="one_subject"),
        CheckConstraint("mode IN ('ALLOW', 'DENY')", name="mode_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_group_id: Mapped[int | None] = mapped_column(ForeignKey("customer_groups.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    mode: Mapped[str] = mapped_column(String(5))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
