"""Integration state, as staff see it: listing and retrying jobs, and each order's sync state.

The engine's rules live beside this module: routing events to jobs (:mod:`.routing`), the job
lease (:mod:`.leases`), documents (:mod:`.documents`), what peers report back (:mod:`.inbound`),
notification texts (:mod:`.messages`) and dispatching (:mod:`.dispatch`). Customers never see
integration state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.base import utcnow
from hub.domain.errors import DomainError, ErrorCode
from hub.domain.integration.models import (
    IntegrationJob,
    JobStatus,
)
from hub.domain.integration.routing import CANCEL_OF, PUSHES
from hub.domain.orders.models import Order, OrderStatus
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor
from hub.domain.validation import check_clean

__all__ = [
    "SyncOperation",
    "SyncState",
    "count_jobs",
    "jobs_by_status",
    "list_jobs",
    "retry_job",
    "sync_states",
]


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
    require(actor, Action.INTEGRATION_VIEW)
    limit = check_first(first)
    after_id = decode_cursor("job", after)
    stmt = select(IntegrationJob)
    if status is not None:
        stmt = stmt.where(IntegrationJob.status == status.value)
    if role is not None:
        check_clean(role, "role")
        stmt = stmt.where(IntegrationJob.role == role)
    if after_id is not None:
        if not after_id.isdigit() or not 0 < int(after_id) < 2**31:
            raise DomainError.invalid("after is not a valid cursor", "after")
        stmt = stmt.where(IntegrationJob.id < int(after_id))
    rows = list((await session.scalars(stmt.order_by(IntegrationJob.id.desc()).limit(limit + 1))).all())
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_next, encode_cursor("job", rows[-1].id) if rows else None)


async def jobs_by_status(session: AsyncSession) -> dict[JobStatus, int]:
    """How many jobs are in each status (every status, 0 when none), for an operator's metrics:
    one grouped count over the ``(status, next_attempt_at)`` index."""
    rows = await session.execute(select(IntegrationJob.status, func.count()).group_by(IntegrationJob.status))
    counts = dict.fromkeys(JobStatus, 0)
    for status, n in rows.all():
        if status in counts:
            counts[JobStatus(status)] = int(n)
    return counts


async def count_jobs(
    session: AsyncSession, actor: Principal, status: JobStatus | None = None, role: str | None = None
) -> int:
    """How many jobs :func:`list_jobs` pages through with the same filters, for staff.

    Raises:
        DomainError: PERMISSION_DENIED for customers.
    """
    require(actor, Action.INTEGRATION_VIEW)
    stmt = select(func.count()).select_from(IntegrationJob)
    if status is not None:
        stmt = stmt.where(IntegrationJob.status == status.value)
    if role is not None:
        check_clean(role, "role")
        stmt = stmt.where(IntegrationJob.role == role)
    return int(await session.scalar(stmt) or 0)


async def retry_job(session: AsyncSession, actor: Principal, job_id: int) -> IntegrationJob:
    """Put a FAILED job back in the queue with a fresh set of attempts (ADMIN only), after the
    cause has been fixed. Its last error stays until the next attempt replaces it.

    Raises:
        DomainError: PERMISSION_DENIED unless ADMIN; NOT_FOUND; INVALID_TRANSITION unless FAILED,
            or for an inbound event that can never apply (operation ``apply_inbound``).
    """
    require(actor, Action.INTEGRATION_RETRY)
    job = await session.get(IntegrationJob, job_id, with_for_update=True)
    if job is None:
        raise DomainError.not_found("Integration job", "id")
    if job.status != JobStatus.FAILED:
        raise DomainError.one(
            ErrorCode.INVALID_TRANSITION, f"Only FAILED jobs can be retried; this one is {job.status}", "id"
        )
    if job.operation == "apply_inbound":  # hub.domain.integration.inbound.APPLY_INBOUND
        raise DomainError.one(
            ErrorCode.INVALID_TRANSITION,
            "An inbound event that can never apply cannot be run again; the sender must send it corrected",
            "id",
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


class SyncOperation(StrEnum):
    """What an order's document at a peer is going through."""

    PUSH = "PUSH"  # created there (push_sales_order, push_outbound)
    CANCEL = "CANCEL"  # cancelled there once the order is (cancel_sales_order, cancel_outbound)


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where an order stands with one peer (ERP or WMS): the latest operation on its document
    there, summed over that operation's jobs."""

    status: JobStatus
    external_id: str | None
    attempts: int
    last_error: str | None
    operation: SyncOperation = SyncOperation.PUSH


# Worst first: the state an order shows when its jobs at one peer differ (several warehouses).
_SEVERITY = [JobStatus.FAILED, JobStatus.RETRYING, JobStatus.RUNNING, JobStatus.PENDING, JobStatus.SUCCEEDED,
             JobStatus.CANCELLED]  # fmt: skip
_CANCELS = tuple(CANCEL_OF.values())
_ORDER_OPERATIONS = (*PUSHES, *_CANCELS)


async def sync_states(
    session: AsyncSession, actor: Principal, order_ids: Sequence[int]
) -> dict[tuple[int, str], SyncState]:
    """{(order id, "erp" | "wms"): its state}, for staff; orders with no job at a peer are absent.
    One statement for any number of orders.

    The state is the latest operation's: the push until the order is cancelled, then its
    cancellation. A cancelled order whose cancel job the outbox relay has not created yet shows a
    PENDING CANCEL (with no attempts), not its earlier push; a push that never reached the peer
    (CANCELLED before it ran) needs no cancellation and speaks for itself.

    Raises:
        DomainError: PERMISSION_DENIED for customers.
    """
    require(actor, Action.INTEGRATION_VIEW)
    if not order_ids:
        return {}
    rows = (
        await session.execute(
            select(IntegrationJob, Order.status)
            .join(Order, Order.id == IntegrationJob.entity_id)
            .where(IntegrationJob.entity == "order", IntegrationJob.entity_id.in_(list(order_ids)))
            .where(IntegrationJob.operation.in_(_ORDER_OPERATIONS))
            .order_by(IntegrationJob.id)
        )
    ).all()
    grouped: dict[tuple[int, str], list[IntegrationJob]] = {}
    cancelled: set[int] = set()
    for job, order_status in rows:
        grouped.setdefault((job.entity_id, job.role.split(".", 1)[0]), []).append(job)
        if order_status == OrderStatus.CANCELLED.value:
            cancelled.add(job.entity_id)
    states: dict[tuple[int, str], SyncState] = {}
    for key, jobs in grouped.items():
        external_id = next((j.external_id for j in jobs if j.external_id), None)
        cancels = [j for j in jobs if j.operation in _CANCELS]
        due = key[0] in cancelled and any(j.status != JobStatus.CANCELLED.value for j in jobs)
        if not cancels and due:  # the cancellation is recorded, its job not created yet
            states[key] = SyncState(JobStatus.PENDING, external_id, 0, None, SyncOperation.CANCEL)
            continue
        current = cancels or jobs
        worst = min(current, key=lambda j: _SEVERITY.index(JobStatus(j.status)))
        states[key] = SyncState(
            status=JobStatus(worst.status),
            external_id=external_id,
            attempts=sum(j.attempts for j in current),
            last_error=next((j.last_error for j in current if j.last_error), None),
            operation=SyncOperation.CANCEL if cancels else SyncOperation.PUSH,
        )
    return states
