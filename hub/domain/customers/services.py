"""Customer accounts and what they owe."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.models import Role, User
from hub.domain.auth.policy import Action, customer_scope, require, sees_customer
from hub.domain.auth.principal import Principal
from hub.domain.auth.services import KEEP, Keep
from hub.domain.customers.models import Customer, CustomerGroup, Region
from hub.domain.errors import DomainError, ErrorCode, Problem
from hub.domain.money import parse_amount, round_money
from hub.domain.orders.models import Order, OrderStatus
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor
from hub.domain.validation import check_clean, check_code, check_text

__all__ = [
    "OPEN_STATUSES",
    "create_customer",
    "customer_user_ids",
    "get_sales_reps",
    "get_customer",
    "get_customers",
    "list_customers",
    "outstanding",
    "outstanding_of_customers",
    "update_customer",
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
    include_inactive: bool = False,
) -> Page[Customer]:
    """A page of customers by code, for staff: the active ones, every one with
    ``include_inactive``.

    Raises:
        DomainError: PERMISSION_DENIED for customer users; INVALID for a bad ``first`` or cursor.
    """
    require(actor, Action.CUSTOMER_LIST)
    limit = check_first(first)
    after_code = decode_cursor("code", after)
    stmt = select(Customer).order_by(Customer.code)
    if not include_inactive:
        stmt = stmt.where(Customer.active.is_(True))
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
    region_id: int | None = None,
) -> Customer:
    """Raises: DomainError PERMISSION_DENIED unless ADMIN; INVALID for a bad or taken code, a
    blank name or a bad credit limit; NOT_FOUND for an unknown group or region."""
    require(actor, Action.CUSTOMER_MANAGE)
    clean_code = check_code(code, "code", max_len=40)
    clean_name = check_text(name, "name", max_len=200)
    limit = None if credit_limit is None else parse_amount(credit_limit, "creditLimit")
    group_id = None
    if group_code is not None:
        group_id = await session.scalar(select(CustomerGroup.id).where(CustomerGroup.code == group_code))
        if group_id is None:
            raise DomainError.not_found("Customer group", "groupCode")
    if region_id is not None and await session.get(Region, region_id) is None:
        raise DomainError.not_found("Region", "regionId")
    if await session.scalar(select(Customer.id).where(Customer.code == clean_code)) is not None:
        raise DomainError.invalid("A customer with this code already exists", "code")
    customer = Customer(
        code=clean_code, name=clean_name, credit_limit=limit, group_id=group_id, region_id=region_id
    )
    session.add(customer)
    await session.flush()
    return customer


async def update_customer(
    session: AsyncSession,
    actor: Principal,
    customer_id: int,
    *,
    name: str | None | Keep = KEEP,
    group_id: int | None | Keep = KEEP,
    region_id: int | None | Keep = KEEP,
    credit_limit: Decimal | None | Keep = KEEP,
    sales_rep_id: int | None | Keep = KEEP,
    active: bool | None | Keep = KEEP,
) -> Customer:
    """Change what is not ``KEEP``; None clears a group, region, credit limit (no limit) or
    sales rep. Deactivating (``active=False``) takes the customer out of ``customers`` lists and
    its users out of the hub (they can neither log in nor use their tokens: :mod:`hub.domain.auth.
    sessions`); its orders and other history stay. Every problem is reported, nothing written.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND for an unknown
            customer (``id``), group (``groupId``), region (``regionId``) or sales rep
            (``salesRepId``); INVALID for a null or blank ``name`` or a null ``active``, a bad
            credit limit, or a sales rep who is not an active staff user.
    """
    require(actor, Action.CUSTOMER_UPDATE)
    customer = (
        await session.execute(select(Customer).where(Customer.id == customer_id).with_for_update())
    ).scalar_one_or_none()
    if customer is None:
        raise DomainError.not_found("Customer", "id")
    problems: list[Problem] = []
    changes: dict[str, Any] = {}

    def check(attribute: str, parse: Any) -> None:
        try:
            changes[attribute] = parse()
        except DomainError as e:
            problems.extend(e.problems)

    if not isinstance(name, Keep):
        check("name", lambda: check_text(name, "name", max_len=200))
    if not isinstance(credit_limit, Keep):
        limit = credit_limit
        check("credit_limit", lambda: None if limit is None else parse_amount(limit, "creditLimit"))
    if not isinstance(active, Keep):
        if active is None:
            problems.append(Problem(ErrorCode.INVALID, "active cannot be null", "active"))
        else:
            changes["active"] = active
    if not isinstance(group_id, Keep):
        if group_id is not None and await session.get(CustomerGroup, group_id) is None:
            problems.append(Problem(ErrorCode.NOT_FOUND, "Customer group not found", "groupId"))
        changes["group_id"] = group_id
    if not isinstance(region_id, Keep):
        if region_id is not None and await session.get(Region, region_id) is None:
            problems.append(Problem(ErrorCode.NOT_FOUND, "Region not found", "regionId"))
        changes["region_id"] = region_id
    if not isinstance(sales_rep_id, Keep):
        if sales_rep_id is not None:
            problems.extend(await _sales_rep_problems(session, sales_rep_id))
        changes["sales_rep_id"] = sales_rep_id
    if problems:
        raise DomainError(problems)
    for attribute, value in changes.items():
        setattr(customer, attribute, value)
    await session.flush()
    return customer


async def _sales_rep_problems(session: AsyncSession, user_id: int) -> list[Problem]:
    user = await session.get(User, user_id)
    if user is None:
        return [Problem(ErrorCode.NOT_FOUND, "User not found", "salesRepId")]
    if Role.CUSTOMER in user.roles or not user.active:
        return [Problem(ErrorCode.INVALID, "The sales rep must be an active staff user", "salesRepId")]
    return []


async def get_sales_reps(session: AsyncSession, actor: Principal, user_ids: Sequence[int]) -> dict[int, User]:
    """The users with these ids, by id, in one statement: customers' sales reps, for staff
    (customer users get none)."""
    ids = sorted(set(user_ids))
    if not ids or customer_scope(actor) is not None:
        return {}
    return {u.id: u for u in (await session.execute(select(User).where(User.id.in_(ids)))).scalars()}


async def customer_user_ids(session: AsyncSession, customer_id: int) -> list[int]:
    """The ids of the users acting for the customer (whose cached sessions to forget when it
    is deactivated)."""
    rows = await session.execute(select(User.id).where(User.customer_id == customer_id))
    return list(rows.scalars())
