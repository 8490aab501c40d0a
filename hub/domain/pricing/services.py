"""Price resolution.

Prices are resolved in one explainable order (see docs/pricing.md). This release knows the base
price only; customer prices, group price lists, quantity breaks and promotions plug in here as
further rules, loaded for a whole page or order at once so that pricing never costs a query per
product.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.money import round_money

__all__ = ["AppliedRule", "PriceBook", "PriceResult", "RuleKind", "load_price_book"]


class RuleKind(StrEnum):
    BASE_PRICE = "BASE_PRICE"


@dataclass(frozen=True, slots=True)
class AppliedRule:
    kind: RuleKind
    description: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "description": self.description}


@dataclass(frozen=True, slots=True)
class PriceResult:
    unit_price: Decimal
    rules: tuple[AppliedRule, ...]


_BASE_RULE = (AppliedRule(RuleKind.BASE_PRICE, "Base price"),)


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Everything needed to price a set of products for one customer, already loaded."""

    customer_id: int | None

    def price(self, product_id: int, base_price: Decimal, quantity: int) -> PriceResult:
        """The unit price for ``quantity`` units (quantity matters once breaks exist)."""
        del product_id, quantity
        return PriceResult(round_money(base_price), _BASE_RULE)


async def load_price_book(
    session: AsyncSession, customer_id: int | None, product_ids: Iterable[int]
) -> PriceBook:
    """Load the pricing rules of ``customer_id`` for ``product_ids`` (none yet: base prices)."""
    del session, product_ids
    return PriceBook(customer_id=customer_id)
