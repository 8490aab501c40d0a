"""Integration state, as staff see it: listing and retrying jobs, and each order's sync state.

The engine's rules live beside this module: routing events to jobs (:mod:`.routing`), the job
lease (:mod:`.leases`), documents (:mod:`.documents`), what peers report back (:mod:`.inbound`),
notification texts (:mod:`.messages`) and dispatching (:mod:`.dispatch`). Customers never see
integration state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.models import Role
from hub.domain.auth.principal import Principal
from hub.domain.base import utcnow
from hub.domain.errors import DomainError, ErrorCode
from hub.domain.integration.models import (
    IntegrationJob,
    JobStatus,
)
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor

__all__ = [
    "SyncState",
    "list_jobs",
    "retry_job",
    "sync_states",
]


def _require_staff(actor: Principal) -> None:
    if not actor.is_staff:
        raise DomainError.denied("Integration jobs are for staff")


async def list_jobs(
    session: AsyncSession,
    actor: Principal,
    *,
    status: JobStatus | None = None,
    role: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[IntegrationJob]:
    """Jobs newest first, for staff.

    Raises:
        DomainError: PERMISSION_DENIED for customers; INVALID for a bad ``first`` or cursor.
    """
    _require_staff(actor)
    limit = check_first(first)
    after_id = decode_cursor("job", after)
    stmt = select(IntegrationJob)
    if status is not None:
        stmt = stmt.where(IntegrationJob.status == status.value)
    if role is not None:
        stmt = stmt.where(IntegrationJob.role == role)
    if after_id is not None:
        if not after_id.isdigit() or not 0 < int(after_id) < 2**31:
            raise DomainError.invalid("after is not a valid cursor", "after")
        stmt = stmt.where(IntegrationJob.id < int(after_id))
    rows = list((await session.scalars(stmt.order_by(IntegrationJob.id.desc()).limit(limit + 1))).all())
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_next, encode_cursor("job", rows[-1].id) if rows else None)


async def count_jobs(session: AsyncSession, actor: Principal, status: JobStatus | None = None) -> int:
    _require_staff(actor)
    stmt = select(func.count()).select_from(IntegrationJob)
    if status is not None:
        stmt = stmt.where(IntegrationJob.status == status.value)
    return int(await session.scalar(stmt) or 0)


async def retry_job(session: AsyncSession, actor: Principal, job_id: int) -> IntegrationJob:
    """Put a FAILED job back in the queue with a fresh set of attempts (ADMIN only), after the
    cause has been fixed. Its last error stays until the next attempt replaces it.

    Raises:
        DomainError: PERMISSION_DENIED unless ADMIN; NOT_FOUND; INVALID_TRANSITION unless FAILED.
    """
    actor.require(Role.ADMIN)
    job = await session.get(IntegrationJob, job_id, with_for_update=True)
    if job is None:
        raise DomainError.not_found("Integration job", "id")
    if job.status != JobStatus.FAILED:
        raise DomainError.one(
            ErrorCode.INVALID_TRANSITION, f"Only FAILED jobs can be retried; this one is {job.status}", "id"
        )
    now = utcnow()
    job.status = JobStatus.PENDING.value
    job.attempts = 0
    job.next_attempt_at = now
    job.enqueued_at = None
    job.lease_until = None
    job.finished_at = None
    job.updated_at = now
    await session.flush()
    return job


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where an order stands with one peer (ERP or WMS), summed over its jobs there."""

    status: JobStatus
    external_id: str | None
    attempts: int
    last_error: str | None


# Worst first: the state an order shows when its jobs at one peer differ (several warehouses).
_SEVERITY = [JobStatus.FAILED, JobStatus.RETRYING, JobStatus.RUNNING, JobStatus.PENDING, JobStatus.SUCCEEDED,
             JobStatus.CANCELLED]  # fmt: skip


async def sync_states(session: AsyncSession, order_ids: Sequence[int]) -> dict[tuple[int, str], SyncState]:
    """{(order id, "erp" | "wms"): its state}; orders with no job at a peer are absent. A cancel
    job, once there is one, speaks for the order."""
    if not order_ids:
        return {}
    rows = (
        await session.scalars(
            select(IntegrationJob)
            .where(IntegrationJob.entity == "order", IntegrationJob.entity_id.in_(list(order_ids)))
            .where(IntegrationJob.operation.in_(_ORDER_OPERATIONS))
            .order_by(IntegrationJob.id)
        )
    ).all()
    grouped: dict[tuple[int, str], list[IntegrationJob]] = {}
    for job in rows:
        grouped.setdefault((job.entity_id, job.role.split(".", 1)[0]), []).append(job)
    states: dict[tuple[int, str], SyncState] = {}
    for key, jobs in grouped.items():
        cancels = [j for j in jobs if j.operation.startswith("cancel")]
        current = cancels or jobs
        worst = min(current, key=lambda j: _SEVERITY.index(JobStatus(j.status)))
        states[key] = SyncState(
            status=JobStatus(worst.status),
            external_id=next((j.external_id for j in jobs if j.external_id), None),
            attempts=sum(j.attempts for j in current),
            last_error=next((j.last_error for j in current if j.last_error), None),
        )
    return states


_ORDER_OPERATIONS = ("push_sales_order", "cancel_sales_order", "push_outbound", "cancel_outbound")
