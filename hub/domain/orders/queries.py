"""Reading orders: one order, a page, a count, always scoped to what the caller may see (staff see
every order, a customer user its own customer's only; another customer's order answers as if it
did not exist)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql import Select, Update

from hub.domain.auth.policy import customer_scope, require_customer
from hub.domain.auth.principal import Principal
from hub.domain.errors import DomainError
from hub.domain.orders.models import Order, OrderStatus
from hub.domain.orders.numbers import MAX_ORDER_ID
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor

__all__ = ["count_orders", "get_order", "list_orders", "reload_order", "visible"]

_Stmt = TypeVar("_Stmt", bound=Select[Any] | Update)


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
    limit = check_first(first)
    after_id = decode_cursor("order", after)
    stmt = visible(_full_order(), actor)
    if status is not None:
        stmt = stmt.where(Order.status == status.value)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    if after_id is not None:
        if not after_id.isdigit() or not 0 < int(after_id) <= MAX_ORDER_ID:
            raise DomainError.invalid("after is not a valid cursor", "after")
        stmt = stmt.where(Order.id < int(after_id))
    stmt = stmt.order_by(Order.id.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).unique().scalars())
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_next, encode_cursor("order", rows[-1].id) if rows else None)


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
