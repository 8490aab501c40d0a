"""Managing the pricing and visibility rules (API.md "Pricing and catalog management"): price
lists and their entries, customer prices (一客一价), order-amount tiers, promotions and
visibility rules.

Every service checks its caller through the policy (SALES_MANAGER and ADMIN change rules, staff
read them, customer users neither), validates its whole input first and reports every problem at
once, each with the input field at fault (``items.3.sku``, counted from 0), and writes nothing
when there is any. The rows are those of :mod:`hub.domain.catalog.price_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.base import utcnow
from hub.domain.catalog.models import Category, Product
from hub.domain.catalog.price_rules import (
    CustomerPrice,
    OrderAmountTier,
    PriceList,
    PriceListItem,
    Promotion,
    PromotionKind,
    VisibilityMode,
    VisibilityRule,
)
from hub.domain.customers.models import Customer, CustomerGroup
from hub.domain.errors import DomainError, ErrorCode, Problem
from hub.domain.money import parse_amount
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor
from hub.domain.validation import check_code, check_text

__all__ = [
    "MAX_ENTRIES",
    "MAX_QUANTITY",
    "CustomerPriceView",
    "ItemInput",
    "PriceListView",
    "PromotionInput",
    "PromotionView",
    "Target",
    "TierInput",
    "VisibilityRuleView",
    "create_price_list",
    "create_promotion",
    "delete_customer_price",
    "end_promotion",
    "customer_price_cursor",
    "list_customer_prices",
    "list_order_amount_tiers",
    "list_price_lists",
    "list_promotions",
    "list_visibility_rules",
    "set_customer_price",
    "set_order_amount_tiers",
    "set_price_list_items",
    "set_visibility_rules",
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


# -- price lists ------------------------------------------------------------------------------


async def create_price_list(
    session: AsyncSession,
    actor: Principal,
    *,
    code: str,
    name: str,
    customer_group_id: int,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    priority: int = 0,
) -> PriceListView:
    """A new, empty price list (价目表) of a customer group.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; INVALID for a bad or taken
            ``code``, a blank ``name``, a window whose ``validTo`` is not after ``validFrom`` or
            a time without a zone; NOT_FOUND for an unknown ``customerGroupId``.
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    p = _Problems()
    clean_code = p.run(check_code, code, "code", max_len=40)
    clean_name = p.run(check_text, name, "name", max_len=200)
    begins, ends = _window(p, valid_from, valid_to, ("validFrom", "validTo"))
    if await session.get(CustomerGroup, customer_group_id) is None:
        p.not_found("Customer group", "customerGroupId")
    taken = Problem(ErrorCode.INVALID, "A price list with this code already exists", "code")
    if clean_code is not None:
        if await session.scalar(select(PriceList.id).where(PriceList.code == clean_code)) is not None:
            p.items.append(taken)
    p.raise_any()
    row = PriceList(
        code=clean_code,
        name=clean_name,
        customer_group_id=customer_group_id,
        valid_from=begins,
        valid_to=ends,
        priority=priority,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # the same code, created by a concurrent request meanwhile
        raise DomainError([taken]) from None
    return PriceListView(row, [])


async def set_price_list_items(
    session: AsyncSession, actor: Principal, price_list_id: int, items: Sequence[ItemInput]
) -> PriceListView:
    """Replace the list's entries for the SKUs named in ``items`` with ``items`` (the entries of
    other SKUs stay); an entry is a unit price from ``min_quantity`` units on. Answers the list
    with all its entries.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND for an unknown
            list (``priceListId``) or SKU (``items.N.sku``); INVALID for a bad price
            (``items.N.unitPrice``) or quantity (``items.N.minQuantity``), a SKU and quantity
            named twice, or more than :data:`MAX_ENTRIES` items.
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    price_list = (
        await session.execute(select(PriceList).where(PriceList.id == price_list_id).with_for_update())
    ).scalar_one_or_none()
    if price_list is None:
        raise DomainError.not_found("Price list", "priceListId")
    p = _Problems()
    if not _limit(p, items, "items"):
        p.raise_any()
    found = await _products(session, [i.sku for i in items])
    rows: list[dict[str, Any]] = []
    for n, item in enumerate(items):
        product_id = found.get(item.sku.strip())
        if product_id is None:
            p.not_found("Product", f"items.{n}.sku")
        unit_price = _price(p, item.unit_price, f"items.{n}.unitPrice")
        min_quantity = _quantity(p, item.min_quantity, f"items.{n}.minQuantity")
        rows.append({"product_id": product_id, "unit_price": unit_price, "min_quantity": min_quantity})
    _duplicates(
        p, [(i.sku.strip(), i.min_quantity) for i in items], "items.{}.minQuantity", "SKU and minQuantity"
    )
    p.raise_any()
    product_ids = sorted({r["product_id"] for r in rows})
    if product_ids:
        await session.execute(
            delete(PriceListItem).where(
                PriceListItem.price_list_id == price_list.id, PriceListItem.product_id.in_(product_ids)
            )
        )
        session.add_all(PriceListItem(price_list_id=price_list.id, **r) for r in rows)
        await session.flush()
    return (await _with_items(session, [price_list]))[0]


async def _with_items(session: AsyncSession, lists: Sequence[PriceList]) -> list[PriceListView]:
    """The lists with their entries by SKU then quantity, in one statement."""
    ids = [x.id for x in lists]
    items: dict[int, list[PriceListItemView]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(
                PriceListItem.price_list_id, Product.sku, PriceListItem.unit_price, PriceListItem.min_quantity
            )
            .join(Product, Product.id == PriceListItem.product_id)
            .where(PriceListItem.price_list_id.in_(ids))
            .order_by(PriceListItem.price_list_id, Product.sku, PriceListItem.min_quantity)
        )
        for list_id, sku, price, qty in rows.all():
            items[list_id].append(PriceListItemView(sku, price, qty))
    return [PriceListView(x, items[x.id]) for x in lists]


async def list_price_lists(
    session: AsyncSession, actor: Principal, customer_group_id: int
) -> list[PriceListView]:
    """The group's price lists with their entries, in the order they are tried: highest
    ``priority`` first, then newest (two statements). An unknown group has none.

    Raises: DomainError PERMISSION_DENIED for customer users."""
    require(actor, Action.PRICE_RULE_VIEW)
    rows = await session.execute(
        select(PriceList)
        .where(PriceList.customer_group_id == customer_group_id)
        .order_by(PriceList.priority.desc(), PriceList.created_at.desc(), PriceList.id.desc())
    )
    return await _with_items(session, list(rows.scalars()))


# -- customer prices --------------------------------------------------------------------------


async def set_customer_price(
    session: AsyncSession,
    actor: Principal,
    *,
    customer_id: int,
    sku: str,
    unit_price: Decimal,
    min_quantity: int = 1,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> CustomerPriceView:
    """Set the customer's own price (一客一价) of a SKU from ``min_quantity`` units on: creates
    it, or replaces the price and window of the one with the same SKU and quantity.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND for an unknown
            ``customerId`` or ``sku``; INVALID for a bad ``unitPrice`` or ``minQuantity`` or
            a bad window (``validTo``).
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    p = _Problems()
    if await session.get(Customer, customer_id) is None:
        p.not_found("Customer", "customerId")
    product_id = (await _products(session, [sku])).get(sku.strip())
    if product_id is None:
        p.not_found("Product", "sku")
    price = _price(p, unit_price, "unitPrice")
    quantity = _quantity(p, min_quantity, "minQuantity")
    begins, ends = _window(p, valid_from, valid_to, ("validFrom", "validTo"))
    p.raise_any()
    assert price is not None and quantity is not None  # else a problem was raised
    key = (
        CustomerPrice.customer_id == customer_id,
        CustomerPrice.product_id == product_id,
        CustomerPrice.min_quantity == quantity,
    )
    row = (await session.execute(select(CustomerPrice).where(*key).with_for_update())).scalar_one_or_none()
    if row is None:
        row = CustomerPrice(customer_id=customer_id, product_id=product_id, min_quantity=quantity)
        session.add(row)
    row.unit_price, row.valid_from, row.valid_to = price, begins, ends
    try:
        await session.flush()
    except IntegrityError:  # the same price created by a concurrent request meanwhile
        raise DomainError.one(ErrorCode.UNAVAILABLE, "The price changed meanwhile; try again") from None
    return CustomerPriceView(row, sku.strip())


async def delete_customer_price(
    session: AsyncSession, actor: Principal, *, customer_id: int, sku: str, min_quantity: int = 1
) -> int:
    """Remove the customer's price of a SKU from ``min_quantity`` units on; answers its id.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND for an unknown
            ``customerId`` or ``sku``, or when the customer has no such price (``minQuantity``).
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    p = _Problems()
    if await session.get(Customer, customer_id) is None:
        p.not_found("Customer", "customerId")
    product_id = (await _products(session, [sku])).get(sku.strip())
    if product_id is None:
        p.not_found("Product", "sku")
    p.raise_any()
    gone = await session.execute(
        delete(CustomerPrice)
        .where(
            CustomerPrice.customer_id == customer_id,
            CustomerPrice.product_id == product_id,
            CustomerPrice.min_quantity == min_quantity,
        )
        .returning(CustomerPrice.id)
    )
    removed = gone.scalar_one_or_none()
    if removed is None:
        raise DomainError.not_found("Customer price", "minQuantity")
    return removed


async def list_customer_prices(
    session: AsyncSession,
    actor: Principal,
    customer_id: int,
    *,
    first: int | None = None,
    after: str | None = None,
) -> Page[CustomerPriceView]:
    """A page of the customer's own prices by SKU, then quantity (staff).

    Raises: DomainError PERMISSION_DENIED for customer users; INVALID for a bad ``first`` or
    cursor."""
    require(actor, Action.PRICE_RULE_VIEW)
    limit = check_first(first)
    cursor = decode_cursor("customerPrice", after)
    stmt = (
        select(CustomerPrice, Product.sku)
        .join(Product, Product.id == CustomerPrice.product_id)
        .where(CustomerPrice.customer_id == customer_id)
        .order_by(Product.sku, CustomerPrice.min_quantity)
    )
    if cursor is not None:
        after_sku, _, qty = cursor.rpartition("|")
        if not qty.isdigit() or len(qty) > 7:
            raise DomainError.invalid("after is not a valid cursor", "after")
        stmt = stmt.where(
            or_(
                Product.sku > after_sku,
                (Product.sku == after_sku) & (CustomerPrice.min_quantity > int(qty)),
            )
        )
    rows = [CustomerPriceView(r, s) for r, s in (await session.execute(stmt.limit(limit + 1))).all()]
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_next, customer_price_cursor(rows[-1]) if rows else None)


def customer_price_cursor(view: CustomerPriceView) -> str:
    return encode_cursor("customerPrice", f"{view.sku}|{view.row.min_quantity}")


# -- order-amount tiers -----------------------------------------------------------------------


async def set_order_amount_tiers(
    session: AsyncSession, actor: Principal, customer_group_id: int, tiers: Sequence[TierInput]
) -> list[OrderAmountTier]:
    """Make ``tiers`` the group's order-amount tiers (replacing all it had; none clears them).
    Answers them by ``minAmount``.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND for an unknown
            ``customerGroupId``; INVALID for a bad ``tiers.N.minAmount`` (repeated too) or
            ``tiers.N.percentOff`` (above 0 to 100).
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    group = (
        await session.execute(
            select(CustomerGroup).where(CustomerGroup.id == customer_group_id).with_for_update()
        )
    ).scalar_one_or_none()
    if group is None:
        raise DomainError.not_found("Customer group", "customerGroupId")
    p = _Problems()
    if not _limit(p, tiers, "tiers"):
        p.raise_any()
    rows = [
        OrderAmountTier(
            customer_group_id=group.id,
            min_amount=_price(p, t.min_amount, f"tiers.{n}.minAmount"),
            percent_off=_percent(p, t.percent_off, f"tiers.{n}.percentOff", zero=False),
        )
        for n, t in enumerate(tiers)
    ]
    _duplicates(p, [r.min_amount for r in rows], "tiers.{}.minAmount", "minAmount")
    p.raise_any()
    await session.execute(delete(OrderAmountTier).where(OrderAmountTier.customer_group_id == group.id))
    session.add_all(rows)
    await session.flush()
    return sorted(rows, key=lambda r: r.min_amount)


async def list_order_amount_tiers(
    session: AsyncSession, actor: Principal, customer_group_id: int
) -> list[OrderAmountTier]:
    """The group's tiers by ``minAmount`` (staff).

    Raises: DomainError PERMISSION_DENIED for customer users."""
    require(actor, Action.PRICE_RULE_VIEW)
    rows = await session.execute(
        select(OrderAmountTier)
        .where(OrderAmountTier.customer_group_id == customer_group_id)
        .order_by(OrderAmountTier.min_amount)
    )
    return list(rows.scalars())


# -- promotions -------------------------------------------------------------------------------


def _kind_fields(p: _Problems, data: PromotionInput) -> dict[str, Any]:
    """The kind-specific fields, checked; those a kind does not use must be left out."""
    kind = data.kind
    out: dict[str, Any] = {"value": None, "threshold": None, "buy_quantity": None, "get_quantity": None}
    uses = {
        PromotionKind.PERCENT_OFF: {"value"},
        PromotionKind.AMOUNT_OFF_PER_UNIT: {"value"},
        PromotionKind.SPEND_THRESHOLD: {"value", "threshold"},
        PromotionKind.BUY_X_GET_Y: {"buyQuantity", "getQuantity", "giftSku"},
    }[kind]
    given = {
        "value": data.value,
        "threshold": data.threshold,
        "buyQuantity": data.buy_quantity,
        "getQuantity": data.get_quantity,
        "giftSku": data.gift_sku,
    }
    for field, v in given.items():
        if v is not None and field not in uses:
            p.invalid(f"{field} does not apply to {kind.value} promotions", field)
    if kind == PromotionKind.PERCENT_OFF:
        out["value"] = _percent(p, data.value, "value", zero=False)
    elif kind in (PromotionKind.AMOUNT_OFF_PER_UNIT, PromotionKind.SPEND_THRESHOLD):
        out["value"] = _price(p, data.value, "value")
        if out["value"] is not None and out["value"] == 0:
            p.invalid("value must be above 0", "value")
        if kind == PromotionKind.SPEND_THRESHOLD:
            out["threshold"] = _price(p, data.threshold, "threshold")
            if out["threshold"] is not None and out["threshold"] == 0:
                p.invalid("threshold must be above 0", "threshold")
    else:
        out["buy_quantity"] = _quantity(p, data.buy_quantity, "buyQuantity")
        out["get_quantity"] = _quantity(p, data.get_quantity, "getQuantity")
    return out


async def create_promotion(session: AsyncSession, actor: Principal, data: PromotionInput) -> PromotionView:
    """A new promotion (促销). Kind by kind: ``PERCENT_OFF`` needs ``value`` above 0 to 100;
    ``AMOUNT_OFF_PER_UNIT`` ``value`` above 0; ``SPEND_THRESHOLD`` (满减) ``threshold`` and
    ``value`` above 0; ``BUY_X_GET_Y`` ``buyQuantity`` and ``getQuantity`` ≥ 1 and optionally a
    ``giftSku`` (default: the same SKU). Fields a kind does not use must be left out.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND for an unknown
            ``giftSku`` or scope entry (``skus.N``, ``categoryIds.N``, ``customerGroupIds.N``,
            ``customerIds.N``); INVALID for the rest (every problem at once).
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    p = _Problems()
    name = p.run(check_text, data.name, "name", max_len=200)
    fields = _kind_fields(p, data)
    gift_id = None
    if data.gift_sku is not None and data.kind == PromotionKind.BUY_X_GET_Y:
        gift_id = (await _products(session, [data.gift_sku])).get(data.gift_sku.strip())
        if gift_id is None:
            p.not_found("Product", "giftSku")
    product_ids = await _sku_list(p, session, data.skus, "skus")
    category_ids = await _id_list(p, session, Category, data.category_ids, "categoryIds", "Category")
    group_ids = await _id_list(
        p, session, CustomerGroup, data.customer_group_ids, "customerGroupIds", "Customer group"
    )
    customer_ids = await _id_list(p, session, Customer, data.customer_ids, "customerIds", "Customer")
    begins, ends = _window(p, data.starts_at, data.ends_at, ("startsAt", "endsAt"))
    limit = data.usage_limit_per_customer
    if limit is not None and limit < 1:
        p.invalid("usageLimitPerCustomer must be at least 1 (or null: no limit)", "usageLimitPerCustomer")
    p.raise_any()
    row = Promotion(
        name=name,
        kind=data.kind.value,
        gift_product_id=gift_id,
        product_ids=product_ids,
        category_ids=category_ids,
        customer_group_ids=group_ids,
        customer_ids=customer_ids,
        starts_at=begins,
        ends_at=ends,
        exclusive=data.exclusive,
        priority=data.priority,
        applies_to_contract_prices=data.applies_to_contract_prices,
        usage_limit_per_customer=limit,
        **fields,
    )
    session.add(row)
    await session.flush()
    return (await _promotion_views(session, [row]))[0]


async def end_promotion(session: AsyncSession, actor: Principal, promotion_id: int) -> PromotionView:
    """End a promotion now: its ``endsAt`` becomes now (one not yet started never starts: its
    window is moved to just before now). Orders already placed keep it.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND for an unknown
            ``id``; INVALID_TRANSITION when it is already over.
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    row = (
        await session.execute(select(Promotion).where(Promotion.id == promotion_id).with_for_update())
    ).scalar_one_or_none()
    if row is None:
        raise DomainError.not_found("Promotion", "id")
    now = utcnow()
    if row.ends_at is not None and row.ends_at <= now:
        raise DomainError.one(ErrorCode.INVALID_TRANSITION, "This promotion is already over", "id")
    if row.starts_at is not None and row.starts_at >= now:
        row.starts_at = now - timedelta(microseconds=1)
    row.ends_at = now
    await session.flush()
    return (await _promotion_views(session, [row]))[0]


async def _promotion_views(session: AsyncSession, rows: Sequence[Promotion]) -> list[PromotionView]:
    """The promotions with their SKUs, in one statement."""
    ids = [pid for r in rows for pid in r.product_ids] + [
        r.gift_product_id for r in rows if r.gift_product_id
    ]
    skus = await _skus_of(session, ids)
    return [
        PromotionView(
            r,
            [skus[i] for i in r.product_ids if i in skus],
            skus.get(r.gift_product_id) if r.gift_product_id else None,
        )
        for r in rows
    ]


async def list_promotions(
    session: AsyncSession,
    actor: Principal,
    *,
    first: int | None = None,
    after: str | None = None,
    active_only: bool = True,
) -> Page[PromotionView]:
    """A page of promotions, newest first (staff); ``active_only``: those in effect now
    (started, not over).

    Raises: DomainError PERMISSION_DENIED for customer users; INVALID for a bad ``first`` or
    cursor."""
    require(actor, Action.PRICE_RULE_VIEW)
    limit = check_first(first)
    cursor = decode_cursor("promotion", after)
    stmt = select(Promotion).order_by(Promotion.id.desc())
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 10:
            raise DomainError.invalid("after is not a valid cursor", "after")
        stmt = stmt.where(Promotion.id < int(cursor))
    if active_only:
        now = utcnow()
        stmt = stmt.where(
            or_(Promotion.starts_at.is_(None), Promotion.starts_at <= now),
            or_(Promotion.ends_at.is_(None), Promotion.ends_at > now),
        )
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    has_next = len(rows) > limit
    rows = rows[:limit]
    views = await _promotion_views(session, rows)
    return Page(views, has_next, encode_cursor("promotion", rows[-1].id) if rows else None)


# -- visibility -------------------------------------------------------------------------------


async def _check_target(p: _Problems, session: AsyncSession, target: Target) -> None:
    """Exactly one target, and it exists; its row is locked, so two lists set for it at once
    are applied one after the other (neither leaves a mix of both)."""
    if (target.customer_group_id is None) == (target.customer_id is None):
        p.invalid("Give exactly one of customerGroupId and customerId", "customerGroupId")
    elif target.customer_group_id is not None:
        found = await session.scalar(
            select(CustomerGroup.id).where(CustomerGroup.id == target.customer_group_id).with_for_update()
        )
        if found is None:
            p.not_found("Customer group", "customerGroupId")
    else:
        found = await session.scalar(
            select(Customer.id).where(Customer.id == target.customer_id).with_for_update()
        )
        if found is None:
            p.not_found("Customer", "customerId")


def _of_target(target: Target) -> Any:
    if target.customer_group_id is not None:
        return VisibilityRule.customer_group_id == target.customer_group_id
    return VisibilityRule.customer_id == target.customer_id


async def set_visibility_rules(
    session: AsyncSession,
    actor: Principal,
    target: Target,
    mode: VisibilityMode,
    *,
    category_ids: Sequence[int] = (),
    skus: Sequence[str] = (),
) -> list[VisibilityRuleView]:
    """Make ``category_ids`` and ``skus`` the target's ``mode`` (ALLOW or DENY) rules, replacing
    the ones of that mode it had (both empty: clears them; the other mode's stay). Answers all
    the target's rules.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; INVALID unless exactly one
            of ``customerGroupId`` and ``customerId`` is given, for a repeated entry or more
            than :data:`MAX_ENTRIES`; NOT_FOUND for an unknown target, ``categoryIds.N`` or
            ``skus.N``.
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    p = _Problems()
    await _check_target(p, session, target)
    cats = await _id_list(p, session, Category, category_ids, "categoryIds", "Category")
    products = await _sku_list(p, session, skus, "skus")
    p.raise_any()
    await session.execute(delete(VisibilityRule).where(_of_target(target), VisibilityRule.mode == mode.value))
    who = {"customer_group_id": target.customer_group_id, "customer_id": target.customer_id}
    session.add_all(VisibilityRule(mode=mode.value, category_id=c, **who) for c in cats)
    session.add_all(VisibilityRule(mode=mode.value, product_id=x, **who) for x in products)
    await session.flush()
    return await _rules(session, target)


async def _rules(session: AsyncSession, target: Target) -> list[VisibilityRuleView]:
    rows = await session.execute(
        select(VisibilityRule, Product.sku)
        .outerjoin(Product, Product.id == VisibilityRule.product_id)
        .where(_of_target(target))
        .order_by(VisibilityRule.mode, VisibilityRule.category_id, Product.sku)
    )
    return [VisibilityRuleView(r, s) for r, s in rows.all()]


async def list_visibility_rules(
    session: AsyncSession, actor: Principal, target: Target
) -> list[VisibilityRuleView]:
    """The target's visibility rules: ALLOW then DENY, categories then SKUs (staff).

    Raises: DomainError PERMISSION_DENIED for customer users; INVALID unless exactly one of
    ``customerGroupId`` and ``customerId`` is given."""
    require(actor, Action.PRICE_RULE_VIEW)
    if (target.customer_group_id is None) == (target.customer_id is None):
        raise DomainError.invalid("Give exactly one of customerGroupId and customerId", "customerGroupId")
    return await _rules(session, target)
