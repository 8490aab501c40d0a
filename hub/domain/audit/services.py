"""The audit trail: :func:`record` one entry per staff mutation that wrote something, in the
mutation's own transaction; :func:`list_entries` pages through them for ADMIN."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.audit.models import AuditEntry
from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.errors import DomainError
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor

__all__ = ["list_entries", "record"]

_CURSOR = "audit"


async def record(
    session: AsyncSession,
    actor: Principal,
    action: str,
    target: str | None,
    request_id: str | None = None,
    *,
    once: bool = False,
) -> AuditEntry | None:
    """Add the audit entry of ``action`` (the mutation's GraphQL name, e.g. ``productCreate``)
    on ``target`` (the GraphQL id of the object created or changed) to ``session``'s transaction,
    so it commits with the change and not without it. Customers' mutations are not audited:
    returns None for a caller that is not staff. ``once``: record nothing when the actor already
    has an entry of ``action`` on ``target`` (a replayed idempotent request wrote nothing new)."""
    if not actor.is_staff:
        return None
    if once:
        seen = await session.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.action == action, AuditEntry.actor_id == actor.user_id, AuditEntry.target == target
            )
            .limit(1)
        )
        if seen is not None:
            return None
    entry = AuditEntry(
        actor_id=actor.user_id,
        actor_email=actor.email,
        action=action[:100],
        target=None if target is None else target[:200],
        request_id=None if request_id in (None, "-") else request_id,
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(
    session: AsyncSession, actor: Principal, *, first: int | None = None, after: str | None = None
) -> Page[AuditEntry]:
    """Audit entries newest first.

    Raises:
        DomainError: PERMISSION_DENIED unless ADMIN; INVALID for a bad ``first`` or cursor.
    """
    require(actor, Action.AUDIT_VIEW)
    limit = check_first(first)
    after_id = decode_cursor(_CURSOR, after)
    stmt = select(AuditEntry)
    if after_id is not None:
        if not after_id.isdigit() or not 0 < int(after_id) < 2**31:
            raise DomainError.invalid("after is not a valid cursor", "after")
        stmt = stmt.where(AuditEntry.id < int(after_id))
    rows = list((await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit + 1))).all())
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_next, encode_cursor(_CURSOR, rows[-1].id) if rows else None)
