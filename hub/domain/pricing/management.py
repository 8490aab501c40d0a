"""Managing the pricing and visibility rules (API.md "Pricing and catalog management"): price
lists and their entries, customer prices (一客一价), order-amount tiers, promotions and
visibility rules (the last two in :mod:`hub.domain.pricing.promotion_rules`, re-exported here).

Every service checks its caller through the policy (SALES_MANAGER and ADMIN change rules, staff
read them, customer users neither), validates its whole input first and reports every problem at
once, each with the input field at fault (``items.3.sku``, counted from 0), and writes nothing
when there is any. The rows are those of :mod:`hub.domain.catalog.price_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.catalog.models import Product
from hub.domain.catalog.price_rules import (
    CustomerPrice,
    OrderAmountTier,
    PriceList,
    PriceListItem,
)
from hub.domain.customers.models import Customer, CustomerGroup
from hub.domain.errors import DomainError, ErrorCode, Problem
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor
from hub.domain.pricing.promotion_rules import (
    create_promotion,
    end_promotion,
    list_promotions,
    list_visibility_rules,
    set_visibility_rules,
)
from hub.domain.pricing.rule_checks import (
    MAX_ENTRIES,
    MAX_QUANTITY,
    CustomerPriceView,
    ItemInput,
    PriceListItemView,
    PriceListView,
    PromotionInput,
    PromotionView,
    Target,
    TierInput,
    VisibilityRuleView,
    _duplicates,
    _limit,
    _percent,
    _price,
    _Problems,
    _products,
    _quantity,
    _window,
)
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
