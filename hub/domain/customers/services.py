"""Customer accounts and what they owe."""

from __future__ import annotations

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

__all__ = ["OPEN_STATUSES", "create_customer", "get_customer", "list_customers", "outstanding"]

# Orders whose value counts against a customer's credit until invoiced and paid.
OPEN_STATUSES = (OrderStatus.PENDING_APPROVAL, OrderStatus.APPROVED, OrderStatus.SHIPPED)


async def get_customer(session: AsyncSession, actor: Principal, customer_id: int) -> Customer | None:
    """The customer, or None when it does not exist or ``actor`` may not see it (staff see any,
    customer users their own)."""
    if not sees_customer(actor, customer_id):
        return None
    return await session.get(Customer, customer_id)


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
    total = await session.scalar(
        select(func.coalesce(func.sum(Order.total), 0)).where(
            Order.customer_id == customer_id, Order.status.in_([s.value for s in OPEN_STATUSES])
        )
    )
    return round_money(Decimal(total or 0))


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
