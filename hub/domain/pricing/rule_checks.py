"""What the pricing rule services share: their plain inputs and answers, the checks of what a
caller sends (each problem collected with its field, ``items.3.sku``), and the lookups of SKUs and
ids those checks need. Used by :mod:`hub.domain.pricing.management` and
:mod:`hub.domain.pricing.promotion_rules`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.catalog.models import Category, Product
from hub.domain.catalog.price_rules import (
    CustomerPrice,
    PriceList,
    Promotion,
    PromotionKind,
    VisibilityRule,
)
from hub.domain.customers.models import Customer, CustomerGroup
from hub.domain.errors import DomainError, ErrorCode, Problem
from hub.domain.money import parse_amount

__all__ = [
    "CustomerPriceView",
    "ItemInput",
    "MAX_ENTRIES",
    "MAX_QUANTITY",
    "PriceListItemView",
    "PriceListView",
    "PromotionInput",
    "PromotionView",
    "Target",
    "TierInput",
    "VisibilityRuleView",
]

MAX_ENTRIES = 1000  # entries (items, tiers, scope ids, SKUs) one call may name
MAX_QUANTITY = 1_000_000  # as for order lines
_HUNDRED = Decimal(100)
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)

M = TypeVar("M", Product, Category, Customer, CustomerGroup)


# -- plain inputs and answers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemInput:
    """One entry of ``priceListItemsSet``."""

    sku: str
    unit_price: Decimal
    min_quantity: int = 1


@dataclass(frozen=True, slots=True)
class TierInput:
    """One order-amount tier of ``orderAmountTiersSet``."""

    min_amount: Decimal
    percent_off: Decimal


@dataclass(frozen=True, slots=True)
class PromotionInput:
    """What ``promotionCreate`` takes (ids already decoded; 0 for an id that is none of ours)."""

    name: str
    kind: PromotionKind
    value: Decimal | None = None
    threshold: Decimal | None = None
    buy_quantity: int | None = None
    get_quantity: int | None = None
    gift_sku: str | None = None
    skus: Sequence[str] = ()
    category_ids: Sequence[int] = ()
    customer_group_ids: Sequence[int] = ()
    customer_ids: Sequence[int] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    exclusive: bool = False
    priority: int = 0
    applies_to_contract_prices: bool = False
    usage_limit_per_customer: int | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """Whose visibility rules: a customer group or a customer (exactly one)."""

    customer_group_id: int | None = None
    customer_id: int | None = None


@dataclass(frozen=True, slots=True)
class PriceListItemView:
    sku: str
    unit_price: Decimal
    min_quantity: int


@dataclass(frozen=True, slots=True)
class PriceListView:
    row: PriceList
    items: list[PriceListItemView]


@dataclass(frozen=True, slots=True)
class CustomerPriceView:
    row: CustomerPrice
    sku: str


@dataclass(frozen=True, slots=True)
class PromotionView:
    row: Promotion
    skus: list[str]
    gift_sku: str | None


@dataclass(frozen=True, slots=True)
class VisibilityRuleView:
    row: VisibilityRule
    sku: str | None


# -- checks -----------------------------------------------------------------------------------


class _Problems:
    """Collects the problems of one request."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def invalid(self, message: str, field: str) -> None:
        self.items.append(Problem(ErrorCode.INVALID, message, field))

    def not_found(self, what: str, field: str) -> None:
        self.items.append(Problem(ErrorCode.NOT_FOUND, f"{what} not found", field))

    def run(self, check: Any, *args: Any, **kw: Any) -> Any:
        """``check(*args, **kw)``, or None with its problems kept."""
        try:
            return check(*args, **kw)
        except DomainError as e:
            self.items.extend(e.problems)
            return None

    def raise_any(self) -> None:
        if self.items:
            raise DomainError(self.items)


def _price(p: _Problems, value: Decimal | None, field: str, *, required: bool = True) -> Decimal | None:
    if value is None:
        if required:
            p.invalid(f"{field} is required", field)
        return None
    result: Decimal | None = p.run(parse_amount, value, field)
    return result


def _quantity(p: _Problems, value: int | None, field: str, *, required: bool = True) -> int | None:
    if value is None:
        if required:
            p.invalid(f"{field} is required", field)
        return None
    if not 1 <= value <= MAX_QUANTITY:
        p.invalid(f"{field} must be 1 to {MAX_QUANTITY:,}", field)
        return None
    return value


def _percent(p: _Problems, value: Decimal | None, field: str, *, zero: bool) -> Decimal | None:
    amount = _price(p, value, field)
    if amount is None:
        return None
    if amount > _HUNDRED or (amount == 0 and not zero):
        p.invalid(f"{field} must be {'0' if zero else 'above 0'} to 100 (percent)", field)
        return None
    return amount


def _instant(p: _Problems, value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        p.invalid(f"{field} needs a time zone (e.g. 2026-01-01T00:00:00Z)", field)
        return None
    try:
        instant = value.astimezone(UTC)
    except (OverflowError, ValueError):
        instant = _LATEST
    if not _EARLIEST <= instant < _LATEST:
        p.invalid(f"{field} must be between 1970 and 9998", field)
        return None
    return instant


def _window(
    p: _Problems, start: datetime | None, end: datetime | None, names: tuple[str, str]
) -> tuple[datetime | None, datetime | None]:
    begins, ends = _instant(p, start, names[0]), _instant(p, end, names[1])
    if begins is not None and ends is not None and ends <= begins:
        p.invalid(f"{names[1]} must be after {names[0]}", names[1])
    return begins, ends


def _limit(p: _Problems, entries: Sequence[object], field: str) -> bool:
    if len(entries) > MAX_ENTRIES:
        p.invalid(f"{field} may have at most {MAX_ENTRIES} entries", field)
        return False
    return True


async def _products(session: AsyncSession, skus: Sequence[str]) -> dict[str, int]:
    wanted = sorted({s.strip() for s in skus})
    if not wanted:
        return {}
    rows = await session.execute(select(Product.sku, Product.id).where(Product.sku.in_(wanted)))
    return {sku: pk for sku, pk in rows.all()}


async def _existing(session: AsyncSession, model: type[M], ids: Sequence[int]) -> set[int]:
    wanted = sorted({i for i in ids if i > 0})
    if not wanted:
        return set()
    return set((await session.execute(select(model.id).where(model.id.in_(wanted)))).scalars())


async def _skus_of(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, str]:
    wanted = sorted(set(product_ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Product.id, Product.sku).where(Product.id.in_(wanted)))
    return {pk: sku for pk, sku in rows.all()}


def _duplicates(p: _Problems, keys: Sequence[object], field: str, what: str) -> None:
    """INVALID at ``field.N…`` for each entry repeating an earlier one."""
    seen: dict[object, int] = {}
    for i, key in enumerate(keys):
        if key is None:
            continue
        if key in seen:
            p.invalid(f"{what} repeats entry {seen[key]}", field.format(i))
        else:
            seen[key] = i


async def _id_list(
    p: _Problems, session: AsyncSession, model: type[M], ids: Sequence[int], field: str, what: str
) -> list[int]:
    """``ids`` checked: each must exist (NOT_FOUND ``field.N``) and appear once (INVALID)."""
    if not _limit(p, ids, field):
        return []
    found = await _existing(session, model, ids)
    for i, pk in enumerate(ids):
        if pk not in found:
            p.not_found(what, f"{field}.{i}")
    _duplicates(p, list(ids), field + ".{}", what)
    return list(dict.fromkeys(ids))


async def _sku_list(p: _Problems, session: AsyncSession, skus: Sequence[str], field: str) -> list[int]:
    """The product ids of ``skus``: each must exist (NOT_FOUND ``field.N``) and appear once."""
    if not _limit(p, skus, field):
        return []
    found = await _products(session, skus)
    ids: list[int] = []
    for i, sku in enumerate(skus):
        pk = found.get(sku.strip())
        if pk is None:
            p.not_found("Product", f"{field}.{i}")
        else:
            ids.append(pk)
    _duplicates(p, [s.strip() for s in skus], field + ".{}", "SKU")
    return list(dict.fromkeys(ids))
