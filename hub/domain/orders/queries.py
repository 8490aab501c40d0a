"""Reading orders: one order, a page, a count, always scoped to what the caller may see (staff see
every order, a customer user its own customer's only; another customer's order answers as if it
did not exist)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql import Select, Update

from hub.domain.auth.policy import customer_scope, require_customer, sees_customer
from hub.domain.auth.principal import Principal
from hub.domain.errors import DomainError
from hub.domain.orders.models import Order, OrderStatus
from hub.domain.orders.numbers import MAX_ORDER_ID
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor

__all__ = [
    "count_orders",
    "count_orders_of_customers",
    "get_order",
    "list_orders",
    "list_orders_of_customers",
    "reload_order",
    "visible",
]

_Stmt = TypeVar("_Stmt", bound=Select[*tuple[Any, ...]] | Update)


def _full_order() -> Select[Order]:
    return select(Order).options(
        joinedload(Order.customer),
        selectinload(Order.lines),
        selectinload(Order.steps),
        selectinload(Order.events),
    )


def visible(stmt: _Stmt, actor: Principal) -> _Stmt:
    """``stmt`` narrowed to the orders ``actor`` may see."""
    scope = customer_scope(actor)
    if scope is None:
        return stmt
    return stmt.where(Order.customer_id == scope)  # type: ignore[return-value]


async def get_order(session: AsyncSession, actor: Principal, order_id: int) -> Order | None:
    """The order with its lines, approval and timeline; None if missing or not ``actor``'s."""
    stmt = visible(_full_order().where(Order.id == order_id), actor)
    return (await session.execute(stmt)).unique().scalar_one_or_none()


async def reload_order(session: AsyncSession, actor: Principal, order_id: int) -> Order:
    """Flush, then load the order afresh (after a change in this transaction)."""
    await session.flush()
    stmt = visible(_full_order().where(Order.id == order_id), actor).execution_options(populate_existing=True)
    return (await session.execute(stmt)).unique().scalar_one()


async def list_orders(
    session: AsyncSession,
    actor: Principal,
    *,
    first: int | None = None,
    after: str | None = None,
    status: OrderStatus | None = None,
    customer_id: int | None = None,
) -> Page[Order]:
    """Orders ``actor`` may see, newest first (of one customer's with ``customer_id``).

    Raises:
        DomainError: PERMISSION_DENIED for another customer's ``customer_id``; INVALID for a bad
            ``first`` or cursor.
    """
    if customer_id is not None:
        require_customer(actor, customer_id)
    limit, after_id = check_first(first), _after_id(after)
    stmt = _filtered(visible(_full_order(), actor), status, after_id)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    stmt = stmt.order_by(Order.id.desc()).limit(limit + 1)
    return _page(list((await session.execute(stmt)).unique().scalars()), limit)


def _after_id(after: str | None) -> int | None:
    """The order id inside an ``after`` cursor. Raises: DomainError INVALID for a bad one."""
    after_id = decode_cursor("order", after)
    if after_id is None:
        return None
    if not after_id.isdigit() or not 0 < int(after_id) <= MAX_ORDER_ID:
        raise DomainError.invalid("after is not a valid cursor", "after")
    return int(after_id)


def _filtered(stmt: _Stmt, status: OrderStatus | None, after_id: int | None) -> _Stmt:
    if status is not None:
        stmt = stmt.where(Order.status == status.value)  # type: ignore[assignment]
    if after_id is not None:
        stmt = stmt.where(Order.id < after_id)  # type: ignore[assignment]
    return stmt


def _page(rows: list[Order], limit: int) -> Page[Order]:
    """A page of ``limit`` from ``rows`` (up to ``limit + 1``, newest first)."""
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_next, encode_cursor("order", rows[-1].id) if rows else None)


async def list_orders_of_customers(
    session: AsyncSession,
    actor: Principal,
    customer_ids: Sequence[int],
    *,
    first: int | None = None,
    after: str | None = None,
    status: OrderStatus | None = None,
) -> dict[int, Page[Order]]:
    """For each customer of ``customer_ids`` that ``actor`` may see, the page
    :func:`list_orders` gives for it (``customer_id=`` that customer): the same orders, order,
    cursors and ``has_next``, read for all of them at once (four statements whatever their
    number: each customer's page is ranked with ``ROW_NUMBER() OVER (PARTITION BY
    customer_id ORDER BY id DESC)``). Customers ``actor`` may not see are left out of the
    answer, where :func:`list_orders` would refuse them.

    Raises:
        DomainError: INVALID for a bad ``first`` or cursor.
    """
    limit, after_id = check_first(first), _after_id(after)
    ids = sorted({c for c in customer_ids if sees_customer(actor, c)})
    pages: dict[int, list[Order]] = {c: [] for c in ids}
    if not ids:
        return {}
    rank = func.row_number().over(partition_by=Order.customer_id, order_by=Order.id.desc()).label("rank")
    ranked = _filtered(
        visible(select(Order.id, rank).where(Order.customer_id.in_(ids)), actor), status, after_id
    ).subquery()
    stmt = (
        _full_order()
        .join(ranked, ranked.c.id == Order.id)
        .where(ranked.c.rank <= limit + 1)
        .order_by(Order.customer_id, Order.id.desc())
    )
    for order in (await session.execute(stmt)).unique().scalars():
        pages[order.customer_id].append(order)
    return {c: _page(rows, limit) for c, rows in pages.items()}


async def count_orders(
    session: AsyncSession,
    actor: Principal,
    *,
    status: OrderStatus | None = None,
    customer_id: int | None = None,
) -> int:
    """How many orders :func:`list_orders` would page through.

    Raises:
        DomainError: PERMISSION_DENIED for another customer's ``customer_id``.
    """
    if customer_id is not None:
        require_customer(actor, customer_id)
    stmt = visible(select(func.count()).select_from(Order), actor)
    if status is not None:
        stmt = stmt.where(Order.status == status.value)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    return int((await session.execute(stmt)).scalar_one())


async def count_orders_of_customers(
    session: AsyncSession,
    actor: Principal,
    customer_ids: Sequence[int],
    *,
    status: OrderStatus | None = None,
) -> dict[int, int]:
    """:func:`count_orders` for each customer of ``customer_ids`` that ``actor`` may see, in
    one statement; the others are left out."""
    ids = sorted({c for c in customer_ids if sees_customer(actor, c)})
    if not ids:
        return {}
    stmt = visible(
        select(Order.customer_id, func.count()).where(Order.customer_id.in_(ids)).group_by(Order.customer_id),
        actor,
    )
    if status is not None:
        stmt = stmt.where(Order.status == status.value)
    counts = {c: 0 for c in ids}
    counts.update({c: int(n) for c, n in (await session.execute(stmt)).all()})
    return counts
