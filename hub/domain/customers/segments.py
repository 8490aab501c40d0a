"""Customer groups (客户分组: 一级代理 / 二级代理 / 零售 …) and sales regions (销售大区): the two
ways customers are segmented. Groups carry price lists, order tiers and visibility rules;
regions scope a sales manager's view. Both are small, flat lists identified by a code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.customers.models import CustomerGroup, Region, UserRegion
from hub.domain.errors import DomainError, Problem
from hub.domain.validation import check_code, check_text

__all__ = [
    "create_customer_group",
    "create_region",
    "get_customer_groups",
    "get_regions",
    "list_customer_groups",
    "list_regions",
    "missing_regions",
    "set_user_regions",
]

S = TypeVar("S", CustomerGroup, Region)


async def list_customer_groups(session: AsyncSession, actor: Principal) -> list[CustomerGroup]:
    """Every customer group, by code (staff).

    Raises: DomainError PERMISSION_DENIED for customer users."""
    require(actor, Action.CUSTOMER_LIST)
    return list((await session.execute(select(CustomerGroup).order_by(CustomerGroup.code))).scalars())


async def list_regions(session: AsyncSession, actor: Principal) -> list[Region]:
    """Every sales region, by code (staff).

    Raises: DomainError PERMISSION_DENIED for customer users."""
    require(actor, Action.CUSTOMER_LIST)
    return list((await session.execute(select(Region).order_by(Region.code))).scalars())


async def _by_ids(session: AsyncSession, model: type[S], ids: Sequence[int]) -> dict[int, S]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(model).where(model.id.in_(wanted)))
    return {x.id: x for x in rows.scalars()}


async def get_customer_groups(session: AsyncSession, ids: Sequence[int]) -> dict[int, CustomerGroup]:
    """The groups with these ids, by id, in one statement. No check of the caller: for a caller
    who already sees the customers these ids come from (their own customer's group)."""
    return await _by_ids(session, CustomerGroup, ids)


async def get_regions(session: AsyncSession, ids: Sequence[int]) -> dict[int, Region]:
    """The regions with these ids, by id, in one statement (see :func:`get_customer_groups`)."""
    return await _by_ids(session, Region, ids)


async def _create(session: AsyncSession, model: type[S], what: str, code: str, name: str) -> S:
    problems: list[Problem] = []
    clean_code = clean_name = ""
    try:
        clean_code = check_code(code, "code", max_len=40)
    except DomainError as e:
        problems.extend(e.problems)
    try:
        clean_name = check_text(name, "name", max_len=200) or ""
    except DomainError as e:
        problems.extend(e.problems)
    if problems:
        raise DomainError(problems)
    taken = DomainError.invalid(f"A {what} with this code already exists", "code")
    if await session.scalar(select(model.id).where(model.code == clean_code)) is not None:
        raise taken
    row = model(code=clean_code, name=clean_name)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # created by a concurrent request meanwhile (the write rolls back)
        raise taken from None
    return row


async def create_customer_group(
    session: AsyncSession, actor: Principal, *, code: str, name: str
) -> CustomerGroup:
    """Raises: DomainError PERMISSION_DENIED unless SALES_MANAGER or ADMIN; INVALID for a bad or
    taken code (field ``code``) or a blank name (``name``)."""
    require(actor, Action.CUSTOMER_GROUP_MANAGE)
    return await _create(session, CustomerGroup, "customer group", code, name)


async def create_region(session: AsyncSession, actor: Principal, *, code: str, name: str) -> Region:
    """Raises: DomainError PERMISSION_DENIED unless SALES_MANAGER or ADMIN; INVALID for a bad or
    taken code (field ``code``) or a blank name (``name``)."""
    require(actor, Action.REGION_MANAGE)
    return await _create(session, Region, "region", code, name)


async def missing_regions(session: AsyncSession, region_ids: Sequence[int]) -> list[int]:
    """Those of ``region_ids`` no region has."""
    found = await get_regions(session, region_ids)
    return sorted(set(region_ids) - set(found))


async def set_user_regions(session: AsyncSession, user_id: int, region_ids: Sequence[int]) -> None:
    """Make ``region_ids`` the user's sales regions (the caller checked who may).

    Raises: DomainError NOT_FOUND (field ``regionIds``) when one of them is not a region."""
    if await missing_regions(session, region_ids):
        raise DomainError.not_found("Region", "regionIds")
    await session.execute(delete(UserRegion).where(UserRegion.user_id == user_id))
    wanted = sorted(set(region_ids))
    if wanted:
        await session.execute(insert(UserRegion), [{"user_id": user_id, "region_id": r} for r in wanted])
