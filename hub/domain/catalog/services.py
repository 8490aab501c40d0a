"""Reading and maintaining the catalog.

Listing is the hottest read of the hub: one statement loads a page of products with their
category and availability, whatever the page size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from hub.domain.auth.policy import Action, allows, require
from hub.domain.auth.principal import Principal
from hub.domain.auth.services import KEEP, Keep
from hub.domain.base import table_of
from hub.domain.catalog.models import Category, Product
from hub.domain.errors import DomainError, ErrorCode, Problem
from hub.domain.fastsql import Statement
from hub.domain.inventory.rules import available_total_sql
from hub.domain.money import parse_amount
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor
from hub.domain.pricing.services import PriceBook, load_price_book
from hub.domain.validation import UNSAFE_TEXT, check_clean, check_code, check_text

__all__ = [
    "CatalogPage",
    "ProductRow",
    "create_category",
    "create_product",
    "get_product",
    "list_categories",
    "list_products",
    "update_product",
]


@dataclass(frozen=True, slots=True)
class ProductRow:
    """A product as a caller sees it, with live availability. ``base_price`` is what the
    caller's price is computed from; ``list_price`` (the same, shown as the list price) and
    ``cost_price`` are set only for a caller the policy lets see them (:data:`Action.SEE_COST`)."""

    id: int
    sku: str
    name: str
    unit: str
    category_id: int | None
    category_name: str | None
    base_price: Decimal
    cost_price: Decimal | None
    active: bool
    available: int
    list_price: Decimal | None = None
    min_order_quantity: int = 1
    order_multiple: int = 1


def _row(r: Sequence[Any], costs: bool) -> ProductRow:
    """A row of :func:`_product_select` as the caller may see it: list and cost prices with
    ``costs`` only."""
    id_, sku, name, unit, category_id, category_name, base, cost, active, available, moq, multiple = r
    return ProductRow(id_, sku, name, unit, category_id, category_name, base, cost if costs else None,
                      active, available, base if costs else None, moq, multiple)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CatalogPage:
    page: Page[ProductRow]
    prices: PriceBook


# Table columns rather than ORM attributes: plain Core statements skip the ORM's compile and
# result machinery (~0.1 ms of a catalog page).
_P = table_of(Product).c
_C = table_of(Category).c


def _product_select() -> Select[tuple[object, ...]]:
    return select(
        _P.id,
        _P.sku,
        _P.name,
        _P.unit,
        _P.category_id,
        _C.name,
        _P.base_price,
        _P.cost_price,
        _P.active,
        available_total_sql(_P.id),  # the rule of hub.domain.inventory.rules
        _P.min_order_quantity,
        _P.order_multiple,
    ).select_from(table_of(Product).outerjoin(table_of(Category), _C.id == _P.category_id))


def _escape_like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _visible_if(stmt: Select[tuple[object, ...]], every: bool) -> Select[tuple[object, ...]]:
    """Active products only, unless ``every`` (callers allowed SEE_COST: staff)."""
    return stmt if every else stmt.where(_P.active.is_(True))


@functools.cache
def _page_statement(every: bool, after: bool, search: bool, category: bool) -> tuple[Statement, Statement]:
    """The page and count statements for one combination of filters, built and compiled once:
    building a statement and its cache key costs more than running it."""
    conds: list[object] = []
    if search:
        pattern: BindParameter[str] = bindparam("pattern")
        conds.append(_P.sku.ilike(pattern, escape="\\") | _P.name.ilike(pattern, escape="\\"))
    if category:
        conds.append(_P.category_id == bindparam("category_id"))
    page = _visible_if(_product_select(), every).where(*conds)  # type: ignore[arg-type]
    if after:
        page = page.where(_P.sku > bindparam("after_sku"))
    page = page.order_by(_P.sku).limit(bindparam("limit"))
    count = _visible_if(select(func.count()).select_from(table_of(Product)), every).where(*conds)  # type: ignore[arg-type]
    return Statement(page), Statement(count)


async def list_products(
    session: AsyncSession,
    actor: Principal,
    *,
    first: int | None = None,
    after: str | None = None,
    search: str | None = None,
    category_id: int | None = None,
    with_total: bool = False,
) -> CatalogPage:
    """A page of the products ``actor`` may see, by SKU, with prices ready to compute.
    One statement (two with ``with_total``), whatever the page size.

    Raises:
        DomainError: INVALID for ``first`` above 100 or a bad cursor; a search longer than
            100 characters.
    """
    limit = check_first(first)
    after_sku = decode_cursor("sku", after)
    if search is not None and len(search) > 100:
        raise DomainError.invalid("search must be at most 100 characters", "search")
    search = check_clean(search, "search").strip() if search else None
    every = allows(actor, Action.SEE_COST)  # inactive products, list and cost prices
    page_stmt, count_stmt = _page_statement(
        every, after_sku is not None, bool(search), category_id is not None
    )
    params: dict[str, object] = {"limit": limit + 1}
    if search:
        params["pattern"] = _escape_like(search)
    if category_id is not None:
        params["category_id"] = category_id
    if after_sku is not None:
        params["after_sku"] = after_sku
    rows = [_row(r, every) for r in await page_stmt.all(session, params)]
    has_next = len(rows) > limit
    rows = rows[:limit]
    total = None
    if with_total:
        params.pop("limit")
        params.pop("after_sku", None)
        total = int((await count_stmt.all(session, params))[0][0])
    prices = await load_price_book(session, actor.customer_id, [r.id for r in rows])
    end = encode_cursor("sku", rows[-1].sku) if rows else None
    return CatalogPage(Page(rows, has_next, end, total), prices)


async def get_product(
    session: AsyncSession, actor: Principal, *, product_id: int | None = None, sku: str | None = None
) -> tuple[ProductRow, PriceBook] | None:
    """One product by id or SKU, or None when it does not exist or ``actor`` may not see it."""
    every = allows(actor, Action.SEE_COST)
    stmt = _visible_if(_product_select(), every)
    if product_id is not None:
        stmt = stmt.where(Product.id == product_id)
    if sku is not None:
        if UNSAFE_TEXT.search(sku):
            return None  # no SKU has one (check_code)
        stmt = stmt.where(Product.sku == sku)
    if product_id is None and sku is None:
        return None
    r = (await session.execute(stmt)).first()
    if r is None:
        return None
    row = _row(r, every)
    return row, await load_price_book(session, actor.customer_id, [row.id])


async def list_categories(session: AsyncSession) -> list[Category]:
    return list((await session.execute(select(Category).order_by(Category.name))).scalars())


async def create_category(
    session: AsyncSession, actor: Principal, *, name: str, parent_id: int | None = None
) -> Category:
    """Raises: DomainError PERMISSION_DENIED unless ADMIN; INVALID for a blank or taken name;
    NOT_FOUND for an unknown parent."""
    require(actor, Action.CATEGORY_MANAGE)
    clean = check_text(name, "name", max_len=200)
    if parent_id is not None and await session.get(Category, parent_id) is None:
        raise DomainError.not_found("Parent category", "parentId")
    if await session.scalar(select(Category.id).where(Category.name == clean)) is not None:
        raise DomainError.invalid("A category with this name already exists", "name")
    category = Category(name=clean, parent_id=parent_id)
    session.add(category)
    await session.flush()
    return category


async def create_product(
    session: AsyncSession,
    actor: Principal,
    *,
    sku: str,
    name: str,
    base_price: Decimal,
    unit: str | None = None,
    cost_price: Decimal | None = None,
    category_id: int | None = None,
) -> ProductRow:
    """Raises: DomainError PERMISSION_DENIED unless ADMIN; INVALID for a bad or taken SKU, a
    blank name or a bad price; NOT_FOUND for an unknown category."""
    require(actor, Action.PRODUCT_MANAGE)
    problems: list[Problem] = []
    checks: list[Callable[[], object]] = [
        lambda: check_code(sku, "sku"),
        lambda: check_text(name, "name", max_len=300),
        lambda: check_text(unit, "unit", max_len=20, required=False),
        lambda: parse_amount(base_price, "basePrice"),
        lambda: None if cost_price is None else parse_amount(cost_price, "costPrice"),
    ]
    values: list[Any] = []
    for check in checks:
        try:
            values.append(check())
        except DomainError as e:
            problems.extend(e.problems)
            values.append(None)
    if problems:
        raise DomainError(problems)
    clean_sku, clean_name, clean_unit, price, cost = values
    category_name = None
    if category_id is not None:
        category = await session.get(Category, category_id)
        if category is None:
            raise DomainError.not_found("Category", "categoryId")
        category_name = category.name
    if await session.scalar(select(Product.id).where(Product.sku == clean_sku)) is not None:
        raise DomainError.invalid("A product with this SKU already exists", "sku")
    product = Product(
        sku=clean_sku,
        name=clean_name,
        unit=clean_unit or "pcs",
        base_price=price,
        cost_price=cost,
        category_id=category_id,
        active=True,
    )
    session.add(product)
    try:
        await session.flush()
    except IntegrityError:
        raise DomainError.invalid("A product with this SKU already exists", "sku") from None
    row = (product.id, product.sku, product.name, product.unit, category_id, category_name,
           product.base_price, product.cost_price, True, 0, 1, 1)  # fmt: skip
    return _row(row, allows(actor, Action.SEE_COST))


MAX_ORDER_STEP = 1_000_000  # the largest quantity of an order line (API.md)


def _whole(value: object, field: str) -> int:
    """A minimum order quantity or multiple: a whole number from 1 to 1,000,000."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ORDER_STEP:
        raise DomainError.invalid(f"{field} must be a whole number from 1 to {MAX_ORDER_STEP:,}", field)
    return value


def _required(value: object, field: str) -> object:
    if value is None:
        raise DomainError.invalid(f"{field} cannot be null", field)
    return value


async def update_product(
    session: AsyncSession,
    actor: Principal,
    product_id: int,
    *,
    name: str | None | Keep = KEEP,
    unit: str | None | Keep = KEEP,
    base_price: Decimal | None | Keep = KEEP,
    cost_price: Decimal | None | Keep = KEEP,
    category_id: int | None | Keep = KEEP,
    min_order_quantity: int | None | Keep = KEEP,
    order_multiple: int | None | Keep = KEEP,
    active: bool | None | Keep = KEEP,
) -> tuple[ProductRow, PriceBook]:
    """Change what is not ``KEEP``: None clears the cost price or the category; the other
    fields cannot be null. A deactivated product (``active=False``) leaves the catalog and can no
    longer be ordered or quoted; orders placed before keep their lines. The SKU never changes.
    Every problem is reported (each with its field), nothing written. Answers the product as
    the actor sees it now, with its prices.

    Raises:
        DomainError: PERMISSION_DENIED unless ADMIN; NOT_FOUND for an unknown product (``id``)
            or category (``categoryId``); INVALID for a blank or null name or unit, a bad or
            null base price, a bad cost price, a minimum order quantity or multiple that is not
            a whole number from 1 to 1,000,000, a null ``active``.
    """
    require(actor, Action.PRODUCT_MANAGE)
    product = (
        await session.execute(select(Product).where(Product.id == product_id).with_for_update())
    ).scalar_one_or_none()
    if product is None:
        raise DomainError.not_found("Product", "id")
    checks: dict[str, Callable[[], object]] = {}
    if not isinstance(name, Keep):
        checks["name"] = lambda: check_text(_required(name, "name"), "name", max_len=300)  # type: ignore[arg-type]
    if not isinstance(unit, Keep):
        checks["unit"] = lambda: check_text(_required(unit, "unit"), "unit", max_len=20)  # type: ignore[arg-type]
    if not isinstance(base_price, Keep):
        checks["base_price"] = lambda: parse_amount(_required(base_price, "basePrice"), "basePrice")  # type: ignore[arg-type]
    if not isinstance(cost_price, Keep):
        checks["cost_price"] = lambda: None if cost_price is None else parse_amount(cost_price, "costPrice")
    if not isinstance(min_order_quantity, Keep):
        checks["min_order_quantity"] = lambda: _whole(min_order_quantity, "minOrderQuantity")
    if not isinstance(order_multiple, Keep):
        checks["order_multiple"] = lambda: _whole(order_multiple, "orderMultiple")
    if not isinstance(active, Keep):
        checks["active"] = lambda: bool(_required(active, "active"))
    problems: list[Problem] = []
    changes: dict[str, object] = {}
    for attribute, check in checks.items():
        try:
            changes[attribute] = check()
        except DomainError as e:
            problems.extend(e.problems)
    if not isinstance(category_id, Keep):
        if category_id is not None and await session.get(Category, category_id) is None:
            problems.append(Problem(ErrorCode.NOT_FOUND, "Category not found", "categoryId"))
        changes["category_id"] = category_id
    if problems:
        raise DomainError(problems)
    for attribute, value in changes.items():
        setattr(product, attribute, value)
    await session.flush()
    found = await get_product(session, actor, product_id=product.id)
    assert found is not None  # the actor may manage products: it sees every one
    return found
