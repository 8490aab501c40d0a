"""The pricing engine's values: the rules one customer's prices depend on (:class:`Rules` and
its parts), the kinds of rule and promotion, and what a price answers (:class:`AppliedRule`,
:class:`PriceResult`). Plain frozen values, no database; :mod:`hub.domain.pricing.engine`
computes with them (``AppliedRule.amount`` is explained there).

All datetimes are timezone-aware; windows include their start and exclude their end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "HUNDRED",
    "LINE_KINDS",
    "ZERO",
    "AppliedRule",
    "CustomerFacts",
    "LineInput",
    "OrderTier",
    "PriceEntry",
    "PriceResult",
    "PriceSource",
    "ProductFacts",
    "Promotion",
    "PromotionKind",
    "RuleKind",
    "Rules",
    "promotion_order",
    "within",
]

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


class RuleKind(StrEnum):
    """Which rule set or changed a price (``PriceRuleKind`` in the API)."""

    BASE_PRICE = "BASE_PRICE"
    GROUP_PRICE = "GROUP_PRICE"
    CUSTOMER_PRICE = "CUSTOMER_PRICE"
    PROMOTION = "PROMOTION"
    ORDER_TIER = "ORDER_TIER"
    GIFT = "GIFT"


class PromotionKind(StrEnum):
    PERCENT_OFF = "PERCENT_OFF"  # value = percent off the unit price
    AMOUNT_OFF_PER_UNIT = "AMOUNT_OFF_PER_UNIT"  # value off each unit, never below 0
    SPEND_THRESHOLD = "SPEND_THRESHOLD"  # 满减: value off the order once threshold is reached
    BUY_X_GET_Y = "BUY_X_GET_Y"  # 买赠: get_quantity of gift_sku free per buy_quantity bought


LINE_KINDS = frozenset({PromotionKind.PERCENT_OFF, PromotionKind.AMOUNT_OFF_PER_UNIT})


@dataclass(frozen=True, slots=True)
class AppliedRule:
    """One rule that produced a price, with what it did in words and in money (see module doc)."""

    kind: RuleKind
    description: str
    amount: Decimal | None = None

    def as_dict(self) -> dict[str, str | None]:
        """As stored on an order line (JSON): the amount as a 2-decimal string."""
        return {
            "kind": self.kind.value,
            "description": self.description,
            "amount": None if self.amount is None else str(self.amount),
        }


@dataclass(frozen=True, slots=True)
class PriceResult:
    """A unit price (rounded once, half-up to 0.01) and the rules that produced it, in order."""

    unit_price: Decimal
    rules: tuple[AppliedRule, ...]
    source: RuleKind = RuleKind.BASE_PRICE
    promotion_ids: tuple[int, ...] = ()


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineInput:
    """One requested line: a SKU and a quantity (lines of the same SKU are merged)."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What pricing needs of a product. ``category_ids`` runs from the product's own category up
    to the root, so a promotion scoped to a category also covers its subcategories."""

    id: int
    sku: str
    base_price: Decimal
    category_ids: tuple[int, ...] = ()
    min_order_quantity: int = 1
    order_multiple: int = 1


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """Whose prices: None for a caller priced as no customer (staff browsing the catalog)."""

    id: int | None = None
    group_id: int | None = None


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """A unit price for a product from ``min_quantity`` units, optionally with its own window
    (customer prices have one each; a price list's entries share the list's)."""

    product_id: int
    unit_price: Decimal
    min_quantity: int = 1
    valid_from: datetime | None = None
    valid_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class PriceSource:
    """A source of unit prices: the customer's own prices (一客一价, ``CUSTOMER_PRICE``) or one of
    its group's price lists (价格表, ``GROUP_PRICE``). ``label`` names it in descriptions
    ("Contract price", "Price list DEALER-1"); ``created`` orders sources by age (larger is
    newer, e.g. the row id)."""

    kind: RuleKind
    label: str
    entries: tuple[PriceEntry, ...] = ()
    priority: int = 0
    created: int = 0
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    _by_product: Mapping[int, tuple[PriceEntry, ...]] = field(
        init=False, repr=False, compare=False, default_factory=lambda: MappingProxyType({})
    )

    def __post_init__(self) -> None:
        if self.kind not in (RuleKind.CUSTOMER_PRICE, RuleKind.GROUP_PRICE):
            raise ValueError(f"a price source is CUSTOMER_PRICE or GROUP_PRICE, not {self.kind}")
        index: dict[int, list[PriceEntry]] = {}
        for entry in self.entries:
            index.setdefault(entry.product_id, []).append(entry)
        object.__setattr__(self, "_by_product", MappingProxyType({k: tuple(v) for k, v in index.items()}))

    def entry(self, product_id: int, quantity: int, at: datetime) -> PriceEntry | None:
        """The valid entry with the largest ``min_quantity`` ≤ ``quantity`` (first one on a tie)."""
        if not within(at, self.valid_from, self.valid_to):
            return None
        best: PriceEntry | None = None
        for e in self._by_product.get(product_id, ()):
            if e.min_quantity <= quantity and within(at, e.valid_from, e.valid_to):
                if best is None or e.min_quantity > best.min_quantity:
                    best = e
        return best

    def breaks(self, product_id: int, at: datetime) -> set[int]:
        """The quantities from which one of this source's valid entries starts."""
        if not within(at, self.valid_from, self.valid_to):
            return set()
        return {
            e.min_quantity
            for e in self._by_product.get(product_id, ())
            if within(at, e.valid_from, e.valid_to)
        }


@dataclass(frozen=True, slots=True)
class Promotion:
    """A promotion as ``promotionCreate`` defines it, plus its id and creation order. Empty scope
    sets mean "all"."""

    id: int
    name: str
    kind: PromotionKind
    value: Decimal | None = None
    threshold: Decimal | None = None
    buy_quantity: int | None = None
    get_quantity: int | None = None
    gift_sku: str | None = None
    skus: frozenset[str] = frozenset()
    category_ids: frozenset[int] = frozenset()
    customer_group_ids: frozenset[int] = frozenset()
    customer_ids: frozenset[int] = frozenset()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    exclusive: bool = False
    priority: int = 0
    applies_to_contract_prices: bool = False
    usage_limit_per_customer: int | None = None
    created: int = 0

    def for_products(self, product: ProductFacts) -> bool:
        if not self.skus and not self.category_ids:
            return True
        return product.sku in self.skus or not self.category_ids.isdisjoint(product.category_ids)

    def for_customer(self, customer: CustomerFacts) -> bool:
        if not self.customer_ids and not self.customer_group_ids:
            return True
        return customer.id in self.customer_ids or customer.group_id in self.customer_group_ids

    def for_source(self, source: RuleKind) -> bool:
        return source is not RuleKind.CUSTOMER_PRICE or self.applies_to_contract_prices


@dataclass(frozen=True, slots=True)
class OrderTier:
    """An order-amount tier of the customer's group: ``percent_off`` the subtotal from
    ``min_amount``."""

    min_amount: Decimal
    percent_off: Decimal


@dataclass(frozen=True, slots=True)
class Rules:
    """Every pricing rule that concerns one customer, loaded once per page or order.

    ``sources`` holds the customer's own prices and its group's valid price lists (in any order:
    the engine orders them); ``promotion_uses`` maps a promotion id to how many orders of this
    customer it applied to, so that exhausted ones are skipped. ``currency`` only labels amounts
    in descriptions.
    """

    customer: CustomerFacts = CustomerFacts()
    sources: tuple[PriceSource, ...] = ()
    promotions: tuple[Promotion, ...] = ()
    order_tiers: tuple[OrderTier, ...] = ()
    promotion_uses: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    currency: str = "CNY"
    # sources in the order they are tried: customer prices, then lists by priority, then newest
    ordered_sources: tuple[PriceSource, ...] = field(init=False, repr=False, compare=False, default=())
    _promotions: tuple[Promotion, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        ordered = sorted(
            self.sources,
            key=lambda s: (s.kind is not RuleKind.CUSTOMER_PRICE, -s.priority, -s.created),
        )
        object.__setattr__(self, "ordered_sources", tuple(ordered))
        usable = [p for p in self.promotions if self._usable(p)]
        object.__setattr__(self, "_promotions", tuple(sorted(usable, key=promotion_order)))

    def _usable(self, p: Promotion) -> bool:
        """Scoped to this customer and not used up by it (time and products are checked later)."""
        if not p.for_customer(self.customer):
            return False
        limit = p.usage_limit_per_customer
        return limit is None or self.promotion_uses.get(p.id, 0) < limit

    def promotions_of(self, kinds: Iterable[PromotionKind], at: datetime) -> list[Promotion]:
        """This customer's usable promotions of ``kinds`` running at ``at``, in applying order."""
        wanted = frozenset(kinds)
        return [p for p in self._promotions if p.kind in wanted and within(at, p.starts_at, p.ends_at)]


def promotion_order(p: Promotion) -> tuple[int, int, int]:
    return (-p.priority, p.created, p.id)  # higher priority first; ties: older first


def within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= at) and (end is None or at < end)
