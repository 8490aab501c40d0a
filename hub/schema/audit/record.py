"""The one line each staff mutation adds to its write transaction: ``await audit(info,
session, target_id)``."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.audit.services import record
from hub.schema.common import AppInfo

__all__ = ["audit"]


async def audit(
    info: AppInfo, session: AsyncSession, target: strawberry.ID | str | None, *, once: bool = False
) -> None:
    """Record the running mutation (its GraphQL name, e.g. ``productCreate``) on ``target`` (the
    GraphQL id of the object it created or changed) in ``session``'s transaction, as the caller
    with the request's id. Call it inside ``async with info.context.db.write() as session:``
    after the change succeeded, so an answer with ``errors`` (a rolled back transaction) leaves
    no entry. A customer's mutation is not recorded. ``once``: not again for the same caller,
    mutation and target (an idempotent replay)."""
    principal = info.context.principal
    if principal is None:
        return
    await record(session, principal, info.field_name, target, info.context.request_id, once=once)
