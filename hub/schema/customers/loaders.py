"""Batching what each customer of a list reads: its outstanding amount, and the customer a
user acts for. One statement per level of a query, not one per object."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from hub.domain.auth.models import User as UserModel
from hub.domain.customers.models import Customer as CustomerModel
from hub.domain.customers.models import CustomerGroup as GroupModel
from hub.domain.customers.models import Region as RegionModel
from hub.domain.customers.segments import get_customer_groups, get_regions
from hub.domain.customers.services import get_customers, get_sales_reps, outstanding_of_customers
from hub.schema.common import AppInfo

__all__ = ["customer_group", "customer_region", "customer_row", "owed", "sales_rep"]


async def customer_group(info: AppInfo, group_id: int) -> GroupModel | None:
    """A customer's group, read with every other customer's of the request in one statement.
    The caller has the customer already, so it may see its group."""
    db = info.context.db

    async def load(keys: Sequence[int]) -> list[GroupModel | None]:
        async with db.read() as session:
            rows = await get_customer_groups(session, keys)
        return [rows.get(k) for k in keys]

    return await info.context.loader("customer.group", load).load(group_id)


async def customer_region(info: AppInfo, region_id: int) -> RegionModel | None:
    """A customer's region, batched like :func:`customer_group`."""
    db = info.context.db

    async def load(keys: Sequence[int]) -> list[RegionModel | None]:
        async with db.read() as session:
            rows = await get_regions(session, keys)
        return [rows.get(k) for k in keys]

    return await info.context.loader("customer.region", load).load(region_id)


async def sales_rep(info: AppInfo, user_id: int) -> UserModel | None:
    """A customer's sales rep, for staff (None for customer users), batched like
    :func:`customer_group`."""
    p = info.context.principal
    if p is None:
        return None
    db = info.context.db

    async def load(keys: Sequence[int]) -> list[UserModel | None]:
        async with db.read() as session:
            rows = await get_sales_reps(session, p, keys)
        return [rows.get(k) for k in keys]

    return await info.context.loader("customer.sales_rep", load).load(user_id)


async def owed(info: AppInfo, customer_id: int) -> Decimal:
    """The customer's outstanding amount (:func:`~hub.domain.customers.services.outstanding`),
    read with every other customer's of the request in one statement. The caller has the
    customer already, so it may see it."""
    db = info.context.db

    async def load(keys: Sequence[int]) -> list[Decimal]:
        async with db.read() as session:
            totals = await outstanding_of_customers(session, keys)
        return [totals[k] for k in keys]

    loader = info.context.loader("customer.owed", load)
    return await loader.load(customer_id)


async def customer_row(info: AppInfo, customer_id: int) -> CustomerModel | None:
    """The customer, if the caller may see it (:func:`~hub.domain.customers.services.get_customer`),
    read with the request's other customers in one statement; None for anonymous callers."""
    p = info.context.principal
    if p is None:
        return None
    db = info.context.db

    async def load(keys: Sequence[int]) -> list[CustomerModel | None]:
        async with db.read() as session:
            rows = await get_customers(session, p, keys)
        return [rows.get(k) for k in keys]

    loader = info.context.loader("customer.row", load)
    return await loader.load(customer_id)
