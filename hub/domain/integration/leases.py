"""A job's lease: claim, finish, retry, fail, cancel.

A run **claims** its job with a conditional UPDATE (status open, or RUNNING with an expired
lease), so two messages for one job never run it at once; the claim sets the lease (the run's
token) and counts an attempt. The run's outcome is **recorded** only while the job still holds
that lease: a run that outlived it changes nothing (:class:`LeaseLost`).

The transitions are pure (:func:`failure_outcome`, :func:`backoff`, :func:`outcome_values`);
the functions taking a session run them in the caller's transaction.

====================  =================================================================
outcome of a run      job becomes
====================  =================================================================
success               SUCCEEDED (the peer's id in ``external_id``; a create's binding)
PermanentError        FAILED after one attempt
anything else         RETRYING with backoff; FAILED once the attempts are used up
order cancelled       CANCELLED (a push no longer wanted)
====================  =================================================================
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, any_, bindparam, null, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.sdk import ConflictError, ConnectorError, ExternalRef, PermanentError, TransientError
from hub.domain.base import table_of, utcnow
from hub.domain.fastsql import Statement
from hub.domain.integration.models import Binding, IntegrationJob, JobStatus
from hub.domain.integration.policies import JobPolicy
from hub.domain.integration.routing import NOT_PUSHED

__all__ = [
    "DIGEST_MAX",
    "EARLY",
    "Claimed",
    "LeaseLost",
    "NotWanted",
    "Outcome",
    "Wait",
    "backoff",
    "binding_entity",
    "claim",
    "claim_many",
    "error_text",
    "failure_outcome",
    "finish",
    "job_operation",
    "outcome_values",
    "renew",
    "succeed_many",
]

log = logging.getLogger("hub.domain.integration.leases")

DIGEST_MAX = 20  # notifications in one digest
EARLY = timedelta(seconds=1)  # a retry message this much early still runs
CANCEL_WAIT = 2.0  # seconds a cancel waits for a running push before it looks again


class NotWanted(Exception):
    """The order was cancelled: its push is not wanted any more."""


class LeaseLost(Exception):
    """This run's lease was taken over: its outcome is another run's to record."""


class Wait(Exception):
    """Not now, and not an attempt: another job must finish first, or it is not due yet."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclass(slots=True)
class Claimed:
    """A job a run holds, with what the run needs to do it."""

    id: int
    role: str
    operation: str
    entity: str
    entity_id: int
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    event_id: int | None
    binding: ExternalRef | None
    others: list[int] = field(default_factory=list)  # notify jobs digested into this run
    lease: datetime | None = None  # this run's token: its outcome is recorded only while it holds it


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run's end makes of its job."""

    status: JobStatus
    error: str | None = None
    ref: ExternalRef | None = None
    retry_at: datetime | None = None


# --- pure rules --------------------------------------------------------------------------------


def backoff(
    policy: JobPolicy,
    attempt: int,
    retry_after: float | None = None,
    jitter: Callable[[float, float], float] = random.uniform,
) -> timedelta:
    """The wait before attempt ``attempt + 1``: exponential from ``min_backoff`` with ±20 %
    jitter, capped at ``max_backoff``; a peer's Retry-After wins if longer (still capped)."""
    seconds = min(policy.min_backoff * 2 ** max(attempt - 1, 0), policy.max_backoff)
    seconds *= jitter(0.8, 1.2)
    if retry_after is not None:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=min(seconds, policy.max_backoff))


def error_text(e: BaseException) -> str:
    """What ``last_error`` says: a connector's own text and code; for anything else its type
    only (a library's message may quote a URL with a key in it)."""
    if isinstance(e, ConnectorError):
        code = f" [{e.code}]" if e.code else ""
        return f"{type(e).__name__}{code}: {e.message}"[:1000]
    return f"unexpected {type(e).__name__} (see the worker's log)"


def failure_outcome(
    policy: JobPolicy,
    attempts: int,
    max_attempts: int,
    e: BaseException,
    now: datetime,
    jitter: Callable[[float, float], float] = random.uniform,
) -> Outcome:
    """What a run that raised ``e`` on attempt ``attempts`` makes of its job: FAILED after a
    permanent refusal or with no attempts left, else RETRYING after :func:`backoff` (a conflict
    waits at least four times the first wait; a peer's Retry-After is honoured)."""
    error = error_text(e)
    if isinstance(e, PermanentError):
        return Outcome(JobStatus.FAILED, error)
    if attempts >= max_attempts:
        return Outcome(JobStatus.FAILED, f"{error} (gave up after {attempts} attempts)")
    retry_after = e.retry_after if isinstance(e, TransientError) else None
    if isinstance(e, ConflictError):
        retry_after = max(retry_after or 0.0, policy.min_backoff * 4)
    return Outcome(JobStatus.RETRYING, error, retry_at=now + backoff(policy, attempts, retry_after, jitter))


def outcome_values(outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The columns recording ``outcome`` at ``now`` (the lease ends)."""
    values: dict[str, Any] = {"status": outcome.status.value, "updated_at": now, "lease_until": None}
    if outcome.error is not None or outcome.status == JobStatus.SUCCEEDED:
        values["last_error"] = outcome.error
    if outcome.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        values["finished_at"] = now
    if outcome.retry_at is not None:
        values["next_attempt_at"] = outcome.retry_at
        values["enqueued_at"] = now  # Dramatiq holds the retry; the dispatcher waits OVERDUE
    if outcome.ref is not None:
        values["external_id"] = outcome.ref.external_id
    return values


def binding_entity(operation: str, payload: Mapping[str, Any]) -> str:
    """The binding a job's document is recorded under: ``sales_order``, ``outbound/<warehouse>``
    or ``purchase_request``."""
    if operation in ("push_sales_order", "cancel_sales_order"):
        return "sales_order"
    if operation in ("push_outbound", "cancel_outbound"):
        return f"outbound/{payload.get('warehouse', '')}"
    return "purchase_request"


# --- in the caller's transaction -----------------------------------------------------------


def _open(now: Any) -> Any:
    """Jobs a run may claim at ``now`` (a time, or a bind parameter)."""
    return or_(  # equalities, not IN: an IN list is an expanding parameter, which fastsql refuses
        IntegrationJob.status == JobStatus.PENDING.value,
        IntegrationJob.status == JobStatus.RETRYING.value,
        and_(IntegrationJob.status == JobStatus.RUNNING.value, IntegrationJob.lease_until < now),
    )


def _running(lease: datetime, now: datetime) -> dict[str, Any]:
    """What a claim sets: held until ``lease``, one more attempt."""
    return {"status": JobStatus.RUNNING.value, "lease_until": lease, "attempts": IntegrationJob.attempts + 1,
            "updated_at": now}  # fmt: skip


async def job_operation(session: AsyncSession, job_id: int) -> str | None:
    return await session.scalar(select(IntegrationJob.operation).where(IntegrationJob.id == job_id))


async def _binding(session: AsyncSession, role: str, entity: str, hub_id: int) -> Binding | None:
    return await session.scalar(
        select(Binding).where(Binding.role == role, Binding.entity == entity, Binding.hub_id == hub_id)
    )


async def _cancel_waiting_push(session: AsyncSession, push_key: Any, now: datetime) -> None:
    """A cancel's claim: the push it cancels is CANCELLED if it is still waiting, failed, or
    held by a worker whose lease ran out (it died); a push running now is waited for."""
    await session.execute(
        update(IntegrationJob)
        .where(IntegrationJob.key == push_key)
        .where(or_(_open(now), IntegrationJob.status == JobStatus.FAILED.value))
        .values(status=JobStatus.CANCELLED.value, updated_at=now, finished_at=now, last_error=NOT_PUSHED)
    )
    running = await session.scalar(
        select(IntegrationJob.id).where(
            IntegrationJob.key == push_key,
            IntegrationJob.status == JobStatus.RUNNING.value,
            IntegrationJob.lease_until >= now,
        )
    )
    if running is not None:
        raise Wait(CANCEL_WAIT)


async def claim(
    session: AsyncSession, job_id: int, now: datetime, lease: timedelta, digests: Callable[[str], bool]
) -> Claimed | None:
    """Take job ``job_id`` for a run until ``now + lease``, in the caller's transaction; None
    when it is gone, done, failed, cancelled or held by another run. A notify job of a role
    that ``digests`` takes the role's other due notify jobs with it (up to :data:`DIGEST_MAX`).

    Raises:
        Wait: a cancel whose push is running, or an early message for a RETRYING job.
    """
    until = now + lease
    job = await session.get(IntegrationJob, job_id)
    if job is None:
        log.warning("integration job %s does not exist", job_id)
        return None
    if job.operation.startswith("cancel_"):
        await _cancel_waiting_push(session, job.payload.get("push"), now)
    if job.status == JobStatus.RETRYING.value and job.next_attempt_at > now + EARLY:
        # An early message (sent again while Dramatiq still holds the delayed retry): wait.
        raise Wait((job.next_attempt_at - now).total_seconds())
    claimed = await session.execute(
        update(IntegrationJob)
        .where(IntegrationJob.id == job_id, _open(now))
        .values(**_running(until, now))
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None  # done, failed, cancelled, or another worker holds it
    await session.refresh(job)
    others: list[int] = []
    if job.operation == "notify" and digests(job.role):
        due = list(
            await session.scalars(
                select(IntegrationJob.id)
                .where(IntegrationJob.role == job.role, IntegrationJob.operation == "notify")
                .where(IntegrationJob.id != job.id, _open(now), IntegrationJob.next_attempt_at <= now)
                .order_by(IntegrationJob.id)
                .limit(DIGEST_MAX - 1)
                # jobs another run is claiming are left to it: no waiting, no deadlock
                .with_for_update(skip_locked=True)
            )
        )
        if due:
            taken = await session.execute(
                update(IntegrationJob)
                .where(IntegrationJob.id.in_(due), _open(now))
                .values(**_running(until, now))
                .returning(IntegrationJob.id)
                .execution_options(synchronize_session=False)
            )
            others = sorted(taken.scalars())
    bound = await _binding(session, job.role, binding_entity(job.operation, job.payload), job.entity_id)
    return Claimed(job.id, job.role, job.operation, job.entity, job.entity_id, dict(job.payload),
                   job.attempts, job.max_attempts, job.event_id,
                   ExternalRef(bound.external_id, bound.number) if bound else None,
                   others, until)  # fmt: skip


async def finish(session: AsyncSession, job: Claimed, outcome: Outcome, now: datetime) -> None:
    """Record ``outcome`` of this run, only while it still holds its lease. A push that
    succeeded records its binding (once). Notifications digested into a run that did not
    succeed go back to RETRYING with their attempt undone: each fails only by its own attempts.

    Raises:
        LeaseLost: the lease was taken over; nothing was recorded.
    """
    succeeded = outcome.status == JobStatus.SUCCEEDED
    ids = [job.id, *job.others] if succeeded else [job.id]
    ref = outcome.ref
    if ref is not None and job.operation.startswith("push_"):
        entity = binding_entity(job.operation, job.payload)
        if await _binding(session, job.role, entity, job.entity_id) is None:
            session.add(
                Binding(
                    role=job.role,
                    entity=entity,
                    hub_id=job.entity_id,
                    external_id=ref.external_id,
                    number=ref.number,
                    created_at=now,
                )
            )
            await session.flush()
    mine = [IntegrationJob.status == JobStatus.RUNNING.value]
    if job.lease is not None:
        mine.append(IntegrationJob.lease_until == job.lease)
    recorded = await session.execute(
        update(IntegrationJob)
        .where(IntegrationJob.id.in_(ids), *mine)
        .values(**outcome_values(outcome, now))
        .execution_options(synchronize_session=False)
    )
    if not recorded.rowcount:  # type: ignore[attr-defined]
        raise LeaseLost
    if not succeeded and job.others:
        await session.execute(
            update(IntegrationJob)
            .where(IntegrationJob.id.in_(job.others), *mine)
            .values(
                status=JobStatus.RETRYING.value,
                lease_until=None,
                updated_at=now,
                attempts=IntegrationJob.attempts - 1,
                next_attempt_at=outcome.retry_at or now,
                enqueued_at=now,  # the lead's retry digests them again; the dispatcher backs it up
            )  # fmt: skip
            .execution_options(synchronize_session=False)
        )


# --- several notify jobs at once (one claim, one success update) ------------------------------

_jobs = table_of(IntegrationJob)
_CLAIM_MANY = (
    update(_jobs)
    .where(_jobs.c.operation == "notify", _open(bindparam("now")))
    .values(
        status=JobStatus.RUNNING.value,
        lease_until=bindparam("lease"),
        attempts=_jobs.c.attempts + 1,
        updated_at=bindparam("now"),
    )
    .returning(
        _jobs.c.id, _jobs.c.role, _jobs.c.entity_id, _jobs.c.event_id, _jobs.c.attempts, _jobs.c.max_attempts
    )
)
_RENEW = (
    update(_jobs)
    .where(_jobs.c.status == JobStatus.RUNNING.value, _jobs.c.lease_until == bindparam("held"))
    .values(lease_until=bindparam("lease"), updated_at=bindparam("now"))
    .returning(_jobs.c.id)
)
_SUCCEEDED = (
    update(_jobs)
    .where(_jobs.c.status == JobStatus.RUNNING.value, _jobs.c.lease_until == bindparam("held"))
    .values(
        status=JobStatus.SUCCEEDED.value,
        updated_at=bindparam("now"),
        lease_until=null(),
        last_error=null(),
        finished_at=bindparam("now"),
    )
    .returning(_jobs.c.id)
)


def _for_ids(stmt: Any) -> Statement:
    return Statement(
        stmt.where(_jobs.c.id.in_(bindparam("ids", expanding=True))),
        pg=stmt.where(_jobs.c.id == any_(bindparam("ids", type_=ARRAY(Integer)))),
    )


_CLAIM_MANY_IDS = _for_ids(_CLAIM_MANY)
_RENEW_IDS = _for_ids(_RENEW)
_SUCCEEDED_IDS = _for_ids(_SUCCEEDED)


async def claim_many(
    session: AsyncSession, job_ids: Sequence[int], now: datetime, until: datetime
) -> list[Claimed]:
    """Take the open ``notify`` jobs among ``job_ids`` until ``until`` (one statement); the
    jobs taken, in id order (the others are done, failed, cancelled or held)."""
    rows = await _CLAIM_MANY_IDS.all(session, {"ids": list(job_ids), "now": now, "lease": until})
    return sorted(
        (Claimed(r[0], r[1], "notify", "event", r[2], {}, r[4], r[5], r[3], None, [], until) for r in rows),
        key=lambda j: j.id,
    )


async def renew(session: AsyncSession, job_ids: Sequence[int], held: datetime, until: datetime) -> set[int]:
    """Move the lease ``held`` of ``job_ids`` to ``until``; the ids still held."""
    rows = await _RENEW_IDS.all(
        session, {"ids": list(job_ids), "held": held, "lease": until, "now": utcnow()}
    )
    return {r[0] for r in rows}


async def succeed_many(
    session: AsyncSession, job_ids: Sequence[int], held: datetime, now: datetime
) -> set[int]:
    """Record ``job_ids`` SUCCEEDED where they still hold the lease ``held``; those recorded."""
    rows = await _SUCCEEDED_IDS.all(session, {"ids": list(job_ids), "now": now, "held": held})
    return {r[0] for r in rows}
