"""Price resolution for callers: a :class:`PriceBook` holds one customer's rules, loaded once
per catalog page or order, and prices through :mod:`hub.domain.pricing.engine`.

The resolution order (docs/pricing.md) lives in the engine. ``load_price_book`` still loads no
rules from the database (base prices only); loading customer prices, price lists, promotions
and tiers into :class:`Rules` is the next step, and needs no change to the callers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.base import utcnow
from hub.domain.pricing.engine import (
    AppliedRule,
    CustomerFacts,
    PriceResult,
    PriceTier,
    ProductFacts,
    RuleKind,
    Rules,
    price_tiers,
    unit_price,
)

__all__ = ["AppliedRule", "PriceBook", "PriceResult", "RuleKind", "load_price_book"]


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Everything needed to price a set of products for one customer, already loaded."""

    customer_id: int | None
    rules: Rules = Rules()
    at: datetime = field(default_factory=utcnow)

    def price(self, product_id: int, base_price: Decimal, quantity: int) -> PriceResult:
        """The unit price for ``quantity`` units of a product known by id and base price only
        (product and category scopes need :meth:`price_of`)."""
        return unit_price(ProductFacts(product_id, "", base_price), quantity, self.rules, self.at)

    def price_of(self, product: ProductFacts, quantity: int) -> PriceResult:
        return unit_price(product, quantity, self.rules, self.at)

    def tiers(self, product: ProductFacts) -> tuple[PriceTier, ...]:
        return price_tiers(product, self.rules, self.at)


async def load_price_book(
    session: AsyncSession, customer_id: int | None, product_ids: Iterable[int]
) -> PriceBook:
    """Load the pricing rules of ``customer_id`` for ``product_ids`` (none yet: base prices)."""
    del session, product_ids
    return PriceBook(customer_id=customer_id, rules=Rules(customer=CustomerFacts(customer_id)))
