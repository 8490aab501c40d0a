"""Which jobs the dispatcher sends to the broker: new ones at once, and open ones whose message
was lost (a broker restart, a killed worker) once they are overdue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.integration.models import OPEN_STATUSES, IntegrationJob, JobStatus

__all__ = ["BATCH", "DueJob", "due_jobs", "mark_enqueued", "mark_open_jobs_unsent"]

BATCH = 200  # jobs read per round

DueJob = tuple[int, str, str]  # id, operation, role


def _due(now: datetime, overdue: timedelta) -> Select[int, str, str]:
    late = now - overdue
    due = or_(
        IntegrationJob.enqueued_at.is_(None),
        and_(IntegrationJob.enqueued_at < late, IntegrationJob.next_attempt_at < late),
    )
    return (
        select(IntegrationJob.id, IntegrationJob.operation, IntegrationJob.role)
        .where(
            or_(
                and_(IntegrationJob.status.in_((JobStatus.PENDING.value, JobStatus.RETRYING.value)), due),
                and_(
                    IntegrationJob.status == JobStatus.RUNNING.value,
                    IntegrationJob.lease_until < late,
                    or_(IntegrationJob.enqueued_at.is_(None), IntegrationJob.enqueued_at < late),
                ),
            )
        )  # fmt: skip
        .order_by(IntegrationJob.id)
        .limit(BATCH)
    )


async def due_jobs(
    session: AsyncSession, now: datetime, overdue: timedelta, *, lock: bool = False
) -> list[DueJob]:
    """Up to :data:`BATCH` jobs to send at ``now``, in id order: never sent, or open and unsent
    for ``overdue`` past their time. ``lock``: take them ``FOR UPDATE SKIP LOCKED`` (PostgreSQL,
    where a dispatcher runs in every process), so each is sent by one process."""
    stmt = _due(now, overdue)
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    return [(r[0], r[1], r[2]) for r in (await session.execute(stmt)).all()]


async def mark_enqueued(session: AsyncSession, job_ids: Sequence[int], now: datetime) -> None:
    """Record that these jobs were sent at ``now``."""
    await session.execute(
        update(IntegrationJob)
        .where(IntegrationJob.id.in_(list(job_ids)))
        .values(enqueued_at=now)
        .execution_options(synchronize_session=False)
    )


async def mark_open_jobs_unsent(session: AsyncSession) -> int:
    """After a restart with the in-memory broker (one process): every open job is sent again, and
    what was running when the process stopped runs again."""
    running = (JobStatus.RUNNING.value, JobStatus.RETRYING.value)
    await session.execute(
        update(IntegrationJob)
        .where(IntegrationJob.status.in_(running))
        .values(status=JobStatus.RETRYING.value, lease_until=None)
    )
    result = await session.execute(
        update(IntegrationJob)
        .where(IntegrationJob.status.in_([s.value for s in OPEN_STATUSES]))
        .values(enqueued_at=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
