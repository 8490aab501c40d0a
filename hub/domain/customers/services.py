"""Customer accounts and what they owe."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.policy import Action, require, sees_customer
from hub.domain.auth.principal import Principal
from hub.domain.customers.models import Customer, CustomerGroup
from hub.domain.errors import DomainError
from hub.domain.money import parse_amount, round_money
from hub.domain.orders.models import Order, OrderStatus
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor
from hub.domain.validation import check_clean, check_code, check_text

__all__ = [
    "OPEN_STATUSES",
    "create_customer",
    "get_customer",
    "get_customers",
    "list_customers",
    "outstanding",
    "outstanding_of_customers",
]

# Orders whose value counts against a customer's credit until invoiced and paid.
OPEN_STATUSES = (OrderStatus.PENDING_APPROVAL, OrderStatus.APPROVED, OrderStatus.SHIPPED)


async def get_customer(session: AsyncSession, actor: Principal, customer_id: int) -> Customer | None:
    """The customer, or None when it does not exist or ``actor`` may not see it (staff see any,
    customer users their own)."""
    if not sees_customer(actor, customer_id):
        return None
    return await session.get(Customer, customer_id)


async def get_customers(
    session: AsyncSession, actor: Principal, customer_ids: Sequence[int]
) -> dict[int, Customer]:
    """:func:`get_customer` for many at once (one statement): those that exist and ``actor``
    may see, by id."""
    ids = sorted({c for c in customer_ids if sees_customer(actor, c)})
    if not ids:
        return {}
    return {c.id: c for c in (await session.execute(select(Customer).where(Customer.id.in_(ids)))).scalars()}


async def list_customers(
    session: AsyncSession,
    actor: Principal,
    *,
    first: int | None = None,
    after: str | None = None,
    search: str | None = None,
) -> Page[Customer]:
    """A page of customers by code, for staff.

    Raises:
        DomainError: PERMISSION_DENIED for customer users; INVALID for a bad ``first`` or cursor.
    """
    require(actor, Action.CUSTOMER_LIST)
    limit = check_first(first)
    after_code = decode_cursor("code", after)
    stmt = select(Customer).order_by(Customer.code)
    if search:
        pattern = f"%{check_clean(search, 'search').strip()}%"
        stmt = stmt.where(Customer.code.ilike(pattern) | Customer.name.ilike(pattern))
    if after_code is not None:
        stmt = stmt.where(Customer.code > after_code)
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_next, encode_cursor("code", rows[-1].code) if rows else None)


async def outstanding(session: AsyncSession, customer_id: int) -> Decimal:
    """The value of the customer's open orders (placed, approved, shipped; not yet settled)."""
    return (await outstanding_of_customers(session, [customer_id]))[customer_id]


async def outstanding_of_customers(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, Decimal]:
    """:func:`outstanding` of each of ``customer_ids``, in one statement."""
    ids = sorted(set(customer_ids))
    totals = dict.fromkeys(ids, Decimal(0))
    if ids:
        rows = await session.execute(
            select(Order.customer_id, func.sum(Order.total))
            .where(Order.customer_id.in_(ids), Order.status.in_([s.value for s in OPEN_STATUSES]))
            .group_by(Order.customer_id)
        )
        totals.update({c: Decimal(t or 0) for c, t in rows.all()})
    return {c: round_money(t) for c, t in totals.items()}


async def create_customer(
    session: AsyncSession,
    actor: Principal,
    *,
    code: str,
    name: str,
    credit_limit: Decimal | None = None,
    group_code: str | None = None,
    region: str | None = None,
) -> Customer:
    """Raises: DomainError PERMISSION_DENIED unless ADMIN; INVALID for a bad or taken code, a
    blank name or a bad credit limit; NOT_FOUND for an unknown group."""
    require(actor, Action.CUSTOMER_MANAGE)
    clean_code = check_code(code, "code", max_len=40)
    clean_name = check_text(name, "name", max_len=200)
    limit = None if credit_limit is None else parse_amount(credit_limit, "creditLimit")
    clean_region = check_text(region, "region", max_len=100, required=False)
    group_id = None
    if group_code is not None:
        group_id = await session.scalar(select(CustomerGroup.id).where(CustomerGroup.code == group_code))
        if group_id is None:
            raise DomainError.not_found("Customer group", "groupCode")
    if await session.scalar(select(Customer.id).where(Customer.code == clean_code)) is not None:
        raise DomainError.invalid("A customer with this code already exists", "code")
    customer = Customer(
        code=clean_code, name=clean_name, credit_limit=limit, group_id=group_id, region=clean_region
    )
    session.add(customer)
    await session.flush()
    return customer
