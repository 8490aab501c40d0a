"""Pricing a list of order lines: what a quote shows and what an order charges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.principal import Principal
from hub.domain.catalog.models import Product
from hub.domain.customers.models import Customer
from hub.domain.errors import ErrorCode, Problem
from hub.domain.fastsql import Statement
from hub.domain.money import MAX_AMOUNT, round_money
from hub.domain.pricing.engine import AppliedRule, LineInput, ProductFacts, price_order
from hub.domain.pricing.services import load_price_book

__all__ = [
    "LineInput",
    "MAX_LINES",
    "MAX_QUANTITY",
    "PricedLine",
    "PricedLines",
    "check_lines",
    "price_lines",
    "quote_order",
]

MAX_LINES = 500
MAX_QUANTITY = 1_000_000


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    rules: tuple[AppliedRule, ...]
    first_index: int  # position of the SKU's first line in the request (a gift's: its earner's)
    is_gift: bool = False
    order_discount_share: Decimal = Decimal("0.00")


@dataclass(slots=True)
class PricedLines:
    lines: list[PricedLine] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    subtotal: Decimal = Decimal("0.00")
    discount_total: Decimal = Decimal("0.00")
    order_rules: tuple[AppliedRule, ...] = ()
    used_promotions: frozenset[int] = frozenset()

    @property
    def total(self) -> Decimal:
        return round_money(self.subtotal - self.discount_total)


_PRODUCT_COLUMNS = select(Product.id, Product.sku, Product.name, Product.base_price, Product.active)
_PRODUCTS = Statement(
    _PRODUCT_COLUMNS.where(Product.sku.in_(bindparam("skus", expanding=True))),
    pg=_PRODUCT_COLUMNS.where(Product.sku == any_(bindparam("skus", type_=ARRAY(String)))),
)


class _ProductRow(NamedTuple):
    id: int
    sku: str
    name: str
    base_price: Decimal
    active: bool


def check_lines(lines: Sequence[LineInput]) -> list[Problem]:
    """The count of lines and each quantity, as the API contract states them."""
    if not 1 <= len(lines) <= MAX_LINES:
        return [Problem(ErrorCode.INVALID, f"An order has 1 to {MAX_LINES} lines", "lines")]
    return [
        Problem(ErrorCode.INVALID, f"Quantity must be between 1 and {MAX_QUANTITY:,}", f"lines.{i}.quantity")
        for i, line in enumerate(lines)
        if not 1 <= line.quantity <= MAX_QUANTITY
    ]


async def price_lines(
    session: AsyncSession,
    customer_id: int | None,
    lines: Sequence[LineInput],
    at: datetime | None = None,
) -> PricedLines:
    """Merge repeated SKUs, look the products up and price them for ``customer_id``.

    Unknown or inactive SKUs and bad quantities become ``problems`` (NOT_FOUND at
    ``lines.N.sku``, INVALID at ``lines.N.quantity``, and the engine's BELOW_MINIMUM /
    NOT_MULTIPLE); the other lines are priced by :func:`~hub.domain.pricing.engine.price_order`
    at ``at`` (default now). Two statements at most, whatever the number of lines.
    """
    result = PricedLines(problems=check_lines(lines))
    if result.problems and result.problems[0].field == "lines":
        return result
    bad = {p.field for p in result.problems}
    good = [None if f"lines.{i}.quantity" in bad else x for i, x in enumerate(lines)]
    # Every SKU is looked up, also those of lines with a bad quantity, so that a known SKU is
    # never reported as unknown.
    rows = await _PRODUCTS.all(session, {"skus": sorted({x.sku for x in lines})})
    found = {r.sku: r for r in map(_ProductRow._make, rows) if r.active}
    for i, x in enumerate(lines):
        if x.sku not in found:
            result.problems.append(
                Problem(ErrorCode.NOT_FOUND, f"Product {x.sku!r} not found", f"lines.{i}.sku")
            )
    book = await load_price_book(session, customer_id, [r.id for r in found.values()])
    facts = {sku: ProductFacts(r.id, sku, r.base_price) for sku, r in found.items()}
    order = price_order(good, facts, book.rules, at or book.at)
    result.problems.extend(order.problems)
    result.lines = [
        PricedLine(x.product_id, x.sku, found[x.sku].name, x.quantity, x.unit_price, x.line_total,
                   x.rules, x.index, x.is_gift, x.order_discount_share)
        for x in order.lines
    ]  # fmt: skip
    result.order_rules = order.order_rules
    result.discount_total = order.discount_total
    result.used_promotions = order.used_promotions
    subtotal = order.subtotal
    for line in result.lines:
        if line.line_total > MAX_AMOUNT:
            result.problems.append(
                Problem(ErrorCode.INVALID, "The line total exceeds 999,999,999,999.99",
                        f"lines.{line.first_index}.quantity")
            )  # fmt: skip
    if subtotal > MAX_AMOUNT and not any(p.field and p.field.endswith("quantity") for p in result.problems):
        result.problems.append(
            Problem(ErrorCode.INVALID, "The order total exceeds 999,999,999,999.99", "lines")
        )
    result.problems.sort(key=lambda p: _field_order(p.field))
    result.subtotal = round_money(subtotal)
    return result


def _field_order(name: str | None) -> tuple[int, str]:
    parts = (name or "").split(".")
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1, name or "")


async def quote_order(
    session: AsyncSession,
    actor: Principal,
    lines: Sequence[LineInput],
    customer_id: int | None = None,
) -> PricedLines:
    """What placing ``lines`` as an order would charge now; problems are returned, not raised.
    Staff may name a customer to quote for; customer users always get their own prices."""
    if actor.is_staff:
        if customer_id is not None and await session.get(Customer, customer_id) is None:
            return PricedLines(problems=[Problem(ErrorCode.NOT_FOUND, "Customer not found", "customerId")])
        target = customer_id
    else:
        if customer_id is not None and customer_id != actor.customer_id:
            return PricedLines(problems=[Problem(ErrorCode.NOT_FOUND, "Customer not found", "customerId")])
        target = actor.customer_id
    return await price_lines(session, target, lines)
