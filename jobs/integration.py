"""The integration job engine: outbox events become jobs, jobs call connectors.

1. **Jobs are created by an outbox handler** (``integration``), in the transaction that claims
   the event, so an event yields each of its jobs exactly once (``IntegrationJob.key`` is
   unique): ``order.approved`` → push the sales order to ``erp`` and an outbound order per
   warehouse to ``wms``; ``order.cancelled`` → cancel what was pushed; ``replenishment.requested``
   → a purchase request to ``erp``; any event matching a ``[[notifications]]`` rule → one
   ``notify`` job per notifier role.
2. **The dispatcher** (:class:`JobDispatcher`, beside the outbox relay) sends new jobs to their
   Dramatiq actor, one actor per operation with its own retry policy, and sends again any job
   whose message was lost (a broker restart, a killed worker) once it is overdue.
3. **A run** (:func:`run_job`) claims the job with a lease (a conditional UPDATE, so two
   messages for one job never run it twice at once), calls the connector outside any
   transaction, then records the outcome:

   - success → SUCCEEDED, and for a create the **binding** (hub document → the peer's id) is
     written; a create whose binding exists never calls the peer again, and connectors look a
     document up by the hub's reference before creating it, for the case where a worker died
     between the remote create and the binding;
   - :class:`~connectors.sdk.PermanentError` → FAILED after one attempt;
   - transient or conflict errors (and unexpected exceptions) → RETRYING with exponential
     backoff (the peer's Retry-After when it gave one), via ``dramatiq.Retry``; when the
     policy's attempts are used up → FAILED.

   FAILED jobs are listed to staff (``integrationJobs(status: FAILED)``) and an admin puts them
   back with ``integrationJobRetry``.
4. **Notifications are digested**: a run of a ``notify`` job takes the other due jobs of the same
   notifier with it (up to :data:`DIGEST_MAX`) and sends one message, so a rate-limited robot
   gets fewer, fuller messages and nothing is dropped. Notifiers that deliver one event per
   request (``digest = False``, the webhook notifier) are never digested; their jobs travel
   up to :data:`JOBS_PER_MESSAGE` per Dramatiq message instead, each still claimed, called
   and recorded on its own terms (:func:`run_jobs`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import dramatiq
from sqlalchemy import Integer, Table, and_, any_, bindparam, null, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from connectors.erp import PurchaseLine, PurchaseRequest, SalesLine, SalesOrder
from connectors.notify import EventInfo, Message
from connectors.sdk import ConflictError, ConnectorError, ExternalRef, PermanentError, TransientError
from connectors.wms import OutboundLine, OutboundOrder, ShipmentConfirmed, StockChanged, StockReport, WmsEvent
from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.customers.models import Customer
from hub.domain.fastsql import Statement, is_postgresql
from hub.domain.integration import services as integration
from hub.domain.integration.models import IntegrationJob, JobStatus
from hub.domain.inventory.models import Reservation, Stock, Warehouse
from hub.domain.orders.models import Order, OrderStatus
from hub.domain.outbox.models import OutboxEvent
from hub.integration import IntegrationConfig, JobPolicy
from jobs import handlers
from jobs.actors import read_events
from jobs.polling import Poller, send_claimed

__all__ = [
    "DIGEST_MAX",
    "JOBS_PER_MESSAGE",
    "JobDispatcher",
    "configure",
    "config",
    "declare",
    "inbound_payloads",
    "run_job",
    "run_jobs",
]

log = logging.getLogger("jobs.integration")

# Defaults; HUB_JOB_LEASE_SECONDS and HUB_JOB_OVERDUE_SECONDS set them (see configure()).
LEASE = timedelta(seconds=120)  # longer than any connector call with its quick retries
OVERDUE = timedelta(seconds=60)  # a due job not run this long after: its message was lost
DIGEST_MAX = 20
QUEUE = "integration"
# Notify jobs of notifiers that are never digested (one call per event: webhook, null) go to the
# worker up to this many per message (see run_jobs): Dramatiq's cost per message and the claim's
# and the outcome's transactions are paid once per message, not once per job.
JOBS_PER_MESSAGE = 20
# ...spread over at least this many messages when fewer are due, so that a handful of jobs still
# runs on several worker threads at once (the default worker threads of hub worker).
SPREAD = 4

_state: dict[str, Any] = {"config": IntegrationConfig(), "connectors": {}, "lease": LEASE, "overdue": OVERDUE}


def config() -> IntegrationConfig:
    return _state["config"]  # type: ignore[no-any-return]


def configure(cfg: IntegrationConfig, lease: float | None = None, overdue: float | None = None) -> None:
    """Use ``cfg`` from now on (called at start-up; tests call it with their own). Registers
    the outbox handler only when something is configured, so a hub without connectors pays
    nothing per event. ``lease`` and ``overdue`` are seconds (see the settings)."""
    _state["config"] = cfg
    _state["lease"] = LEASE if lease is None else timedelta(seconds=lease)
    _state["overdue"] = OVERDUE if overdue is None else timedelta(seconds=overdue)
    _state["connectors"] = {}
    if cfg.instances:
        handlers.register("integration", {"*"}, on_event)
    else:
        handlers.unregister("integration")


def connector(role: str) -> Any:
    """The connector serving ``role`` in this process (built once)."""
    built: dict[str, Any] = _state["connectors"]
    if role not in built:
        instance = config().instances.get(role)
        if instance is None:
            raise PermanentError(f"no connector is configured for role {role!r}")
        built[role] = instance.create()
    return built[role]


async def close_connectors() -> None:
    built: dict[str, Any] = _state["connectors"]
    _state["connectors"] = {}
    for c in built.values():
        try:
            await c.aclose()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            log.warning("closing connector %s failed", type(c).__name__)


# --- 1. events become jobs ------------------------------------------------------------------


_jobs = cast(Table, IntegrationJob.__table__)


def _insert_job(insert: Any) -> Any:
    # A job is created once: the key is unique, and an insert of an existing key does nothing
    # (it waits for a concurrent insert of the same key to commit or roll back first).
    return (
        insert(_jobs)
        .values(
            key=bindparam("key"),
            role=bindparam("role"),
            operation=bindparam("operation"),
            entity=bindparam("entity"),
            entity_id=bindparam("entity_id"),
            event_id=bindparam("event_id"),
            payload=bindparam("payload"),
            status=JobStatus.PENDING.value,
            attempts=0,
            max_attempts=bindparam("max_attempts"),
            next_attempt_at=bindparam("now"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_jobs.c.id)
    )


_INSERT_JOB = Statement(_insert_job(sqlite_insert), pg=_insert_job(pg_insert))


async def _add(session: AsyncSession, event: OutboxEvent, role: str, operation: str, entity: str,
               entity_id: int, part: str = "", payload: dict[str, Any] | None = None) -> None:  # fmt: skip
    """Create the job unless it exists, in the handler's transaction (one statement: this runs
    for every event a rule matches)."""
    key = f"{role}:{operation}:{entity}:{entity_id}{':' + part if part else ''}"
    data: Any = payload or {}
    await _INSERT_JOB.all(session, {
        "key": key, "role": role, "operation": operation, "entity": entity, "entity_id": entity_id,
        "event_id": event.id, "max_attempts": config().policy(operation).max_attempts, "now": utcnow(),
        # Statement runs on asyncpg directly on PostgreSQL, which takes JSON as text.
        "payload": json.dumps(data) if is_postgresql(session) else data,
    })  # fmt: skip


async def _warehouses(session: AsyncSession, order_id: int) -> list[str]:
    rows = await session.scalars(
        select(Warehouse.code)
        .join(Stock, Stock.warehouse_id == Warehouse.id)
        .join(Reservation, Reservation.stock_id == Stock.id)
        .where(Reservation.order_id == order_id)
        .distinct()
        .order_by(Warehouse.code)
    )
    return list(rows)


NOT_PUSHED = "not pushed: the order was cancelled first"
_PUSHES = ("push_sales_order", "push_outbound")


async def on_event(session: AsyncSession, event: OutboxEvent) -> None:
    """The ``integration`` outbox handler: the jobs an event asks for."""
    cfg = config()
    kind = event.kind
    if kind == "order.approved":
        # Events are not handled in order: an order already cancelled when its approval is
        # handled (a backlog; or its cancellation was handled first and found nothing to cancel)
        # gets its pushes as CANCELLED, never sent. The row lock makes a cancellation committing
        # meanwhile wait for these jobs, so that its handler, which runs after it, finds them.
        status = await session.scalar(
            select(Order.status).where(Order.id == event.aggregate_id).with_for_update()
        )
        if cfg.has("erp"):
            await _add(session, event, "erp", "push_sales_order", "order", event.aggregate_id)
        if cfg.has("wms"):
            codes = await _warehouses(session, event.aggregate_id)
            for code in codes:
                part = code if len(codes) > 1 else ""
                await _add(session, event, "wms", "push_outbound", "order", event.aggregate_id, part,
                           {"warehouse": code, "split": len(codes) > 1})  # fmt: skip
        if status == OrderStatus.CANCELLED:
            now = utcnow()
            await session.execute(
                update(IntegrationJob)
                .where(IntegrationJob.entity == "order", IntegrationJob.entity_id == event.aggregate_id)
                .where(IntegrationJob.operation.in_(_PUSHES))
                .where(IntegrationJob.status == JobStatus.PENDING.value)
                .values(status=JobStatus.CANCELLED.value, last_error=NOT_PUSHED)
                .values(updated_at=now, finished_at=now)
                .execution_options(synchronize_session=False)
            )
    elif kind == "order.cancelled":
        pushes = await session.scalars(
            select(IntegrationJob).where(
                IntegrationJob.entity == "order",
                IntegrationJob.entity_id == event.aggregate_id,
                IntegrationJob.operation.in_(_PUSHES),
                # CANCELLED already: never sent (above), or its cancel job exists
                IntegrationJob.status != JobStatus.CANCELLED.value,
            )
        )
        for push in pushes:
            operation = "cancel_sales_order" if push.operation == "push_sales_order" else "cancel_outbound"
            part = str(push.payload["warehouse"]) if push.payload.get("split") else ""
            await _add(session, event, push.role, operation, "order", event.aggregate_id, part,
                       {**push.payload, "push": push.key})  # fmt: skip
    elif kind == "replenishment.requested" and cfg.has("erp"):
        await _add(session, event, "erp", "push_purchase_request", "replenishment", event.aggregate_id,
                   payload=dict(event.payload))  # fmt: skip
    rules = [rule for rule in cfg.rules if rule.matches_kind(kind)]
    if any(rule.customers for rule in rules):  # the customer only when a rule is narrowed to some
        customer = await _customer_code(session, event)
        rules = [rule for rule in rules if rule.matches_customer(customer)]
    if rules:
        roles = {role for rule in rules for role in rule.to}
        for role in sorted(roles):
            await _add(session, event, role, "notify", "event", event.id, payload={"kind": kind})


async def _customer_code(session: AsyncSession, event: OutboxEvent) -> str | None:
    if event.aggregate != "order":
        return None
    return await session.scalar(
        select(Customer.code)
        .join(Order, Order.customer_id == Customer.id)
        .where(Order.id == event.aggregate_id)
    )


# --- 3. a run -------------------------------------------------------------------------------


@dataclass(slots=True)
class Claimed:
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
    others: list[int]  # notify jobs digested into this run
    lease: datetime | None = None  # this run's token: its outcome is recorded only while it holds it


EARLY = timedelta(seconds=1)  # a retry message this much early still runs


class _Cancelled(Exception):
    """The order was cancelled: its push is not wanted any more."""


class _Lost(Exception):
    """This run's lease was taken over: its outcome is another run's to record."""


class _Wait(Exception):
    """Not now, and not an attempt: another job must finish first, or it is not due yet."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


def _open(now: Any) -> Any:
    """Jobs a run may claim at ``now`` (a time, or a bind parameter)."""
    return or_(  # equalities, not IN: an IN list is an expanding parameter, which fastsql refuses
        IntegrationJob.status == JobStatus.PENDING.value,
        IntegrationJob.status == JobStatus.RETRYING.value,
        and_(IntegrationJob.status == JobStatus.RUNNING.value, IntegrationJob.lease_until < now),
    )


def _binding_entity(operation: str, payload: Mapping[str, Any]) -> str:
    if operation in ("push_sales_order", "cancel_sales_order"):
        return "sales_order"
    if operation in ("push_outbound", "cancel_outbound"):
        return f"outbound/{payload.get('warehouse', '')}"
    return "purchase_request"


def _running(lease: datetime, now: datetime) -> dict[str, Any]:
    """What a claim sets: held until ``lease``, one more attempt."""
    return {"status": JobStatus.RUNNING.value, "lease_until": lease, "attempts": IntegrationJob.attempts + 1,
            "updated_at": now}  # fmt: skip


async def _claim(db: Database, job_id: int, now: datetime) -> Claimed | None:
    lease = now + _state["lease"]
    async with db.write() as session:
        job = await session.get(IntegrationJob, job_id)
        if job is None:
            log.warning("integration job %s does not exist", job_id)
            return None
        if job.operation.startswith("cancel_"):
            # Cancelling what is still waiting to be pushed: the push is not wanted any more.
            push_key = job.payload.get("push")
            await session.execute(
                update(IntegrationJob)
                .where(IntegrationJob.key == push_key)
                # waiting, failed, or held by a worker whose lease ran out (it died)
                .where(or_(_open(now), IntegrationJob.status == JobStatus.FAILED.value))
                .values(
                    status=JobStatus.CANCELLED.value,
                    updated_at=now,
                    finished_at=now,
                    last_error=NOT_PUSHED,
                )  # fmt: skip
            )
            running = await session.scalar(
                select(IntegrationJob.id).where(
                    IntegrationJob.key == push_key,
                    IntegrationJob.status == JobStatus.RUNNING.value,
                    IntegrationJob.lease_until >= now,
                )
            )
            if running is not None:
                raise _Wait(2.0)
        if job.status == JobStatus.RETRYING.value and job.next_attempt_at > now + EARLY:
            # An early message (sent again while Dramatiq still holds the delayed retry): wait.
            raise _Wait((job.next_attempt_at - now).total_seconds())
        claimed = await session.execute(
            update(IntegrationJob)
            .where(IntegrationJob.id == job_id, _open(now))
            .values(**_running(lease, now))
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None  # done, failed, cancelled, or another worker holds it
        await session.refresh(job)
        others: list[int] = []
        if job.operation == "notify" and getattr(connector_class(job.role), "digest", True):
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
                    .values(**_running(lease, now))
                    .returning(IntegrationJob.id)
                    .execution_options(synchronize_session=False)
                )
                others = sorted(taken.scalars())
        entity = _binding_entity(job.operation, job.payload)
        bound = await integration.binding(session, job.role, entity, job.entity_id)
        return Claimed(job.id, job.role, job.operation, job.entity, job.entity_id, dict(job.payload),
                       job.attempts, job.max_attempts, job.event_id,
                       ExternalRef(bound.external_id, bound.number) if bound else None,
                       others, lease)  # fmt: skip


def connector_class(role: str) -> type | None:
    instance = config().instances.get(role)
    return None if instance is None else instance.cls


async def _finish(db: Database, job: Claimed, status: JobStatus, *, error: str | None = None,
                  ref: ExternalRef | None = None, retry_at: datetime | None = None) -> None:  # fmt: skip
    """Record the outcome of this run, only while it still holds its lease (a run that outlived
    it changes nothing). Notifications digested into a run that did not succeed go back to
    RETRYING with their attempt undone: each fails only by its own attempts."""
    now = utcnow()
    ids = [job.id, *job.others] if status == JobStatus.SUCCEEDED else [job.id]
    values: dict[str, Any] = {"status": status.value, "updated_at": now, "lease_until": None}
    if error is not None or status == JobStatus.SUCCEEDED:
        values["last_error"] = error
    if status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        values["finished_at"] = now
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
        values["enqueued_at"] = now  # Dramatiq holds the retry; the dispatcher waits OVERDUE
    if ref is not None:
        values["external_id"] = ref.external_id
    async with db.write() as session:
        if ref is not None and job.operation.startswith("push_"):
            entity = _binding_entity(job.operation, job.payload)
            await integration.bind(session, job.role, entity, job.entity_id, ref.external_id, ref.number)
        mine = [IntegrationJob.status == JobStatus.RUNNING.value]
        if job.lease is not None:
            mine.append(IntegrationJob.lease_until == job.lease)
        recorded = await session.execute(
            update(IntegrationJob)
            .where(IntegrationJob.id.in_(ids), *mine)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not recorded.rowcount:  # type: ignore[attr-defined]
            log.warning("job %s (%s %s): lease lost before its outcome was recorded", job.id, job.role,
                        job.operation)  # fmt: skip
            raise _Lost
        if status != JobStatus.SUCCEEDED and job.others:
            await session.execute(
                update(IntegrationJob)
                .where(IntegrationJob.id.in_(job.others), *mine)
                .values(
                    status=JobStatus.RETRYING.value,
                    lease_until=None,
                    updated_at=now,
                    attempts=IntegrationJob.attempts - 1,
                    next_attempt_at=retry_at or now,
                    enqueued_at=now,  # the lead's retry digests them again; the dispatcher backs it up
                )  # fmt: skip
                .execution_options(synchronize_session=False)
            )


def backoff(policy: JobPolicy, attempt: int, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: exponential from ``min_backoff`` with ±20 %
    jitter, capped at ``max_backoff``; a peer's Retry-After wins if longer (still capped)."""
    wait = min(policy.min_backoff * 2 ** max(attempt - 1, 0), policy.max_backoff)
    wait *= random.uniform(0.8, 1.2)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return float(min(wait, policy.max_backoff))


async def run_job(db: Database, job_id: int) -> str:
    """Run one job once; returns what became of it (for logs and tests).

    Raises:
        dramatiq.Retry: a transient failure with attempts left (Dramatiq runs it again later).
    """
    now = utcnow()
    try:
        job = await _claim(db, job_id, now)
    except _Wait as wait:
        # A fresh delayed message, not dramatiq.Retry: waiting is not a failed attempt and must
        # not use up the actor's retries (the dispatcher is the backstop if this send is lost).
        operation = await _operation_of(db, job_id)
        if operation is not None:
            await asyncio.to_thread(_send_later, operation, job_id, int(wait.seconds * 1000))
        return "waiting"
    if job is None:
        return "skipped"
    try:
        return await _run_claimed(db, job)
    except _Lost:
        return "lost"


async def _operation_of(db: Database, job_id: int) -> str | None:
    async with db.read() as session:
        return await session.scalar(select(IntegrationJob.operation).where(IntegrationJob.id == job_id))


async def _run_claimed(db: Database, job: Claimed) -> str:
    # Never outlive the lease: after it another run may take the job over.
    limit = max((job.lease - utcnow()).total_seconds() - 5.0, 1.0) if job.lease else None
    try:
        async with asyncio.timeout(limit):
            ref = await OPERATIONS[job.operation](db, job)
    except _Cancelled:
        await _finish(db, job, JobStatus.CANCELLED, error=NOT_PUSHED)
        return "cancelled"
    except Exception as e:  # noqa: BLE001 - permanent, transient, conflict, or a bug: see _failed
        if isinstance(e, TimeoutError):
            e = TransientError(f"no result within {limit:.0f} s (the job's lease)")
        delay = await _failed(db, job, e)
        if delay is None:
            return "failed"
        raise dramatiq.Retry(delay=int(delay * 1000)) from None
    await _finish(db, job, JobStatus.SUCCEEDED, ref=ref)
    return "succeeded"


async def _failed(db: Database, job: Claimed, e: Exception) -> float | None:
    """Record that a run of ``job`` raised ``e`` (call it while handling ``e``): FAILED after a
    permanent refusal or with no attempts left (None), else RETRYING under the operation's
    policy: the seconds until the next attempt."""
    if isinstance(e, PermanentError):
        await _finish(db, job, JobStatus.FAILED, error=_text(e))
        log.warning("job %s (%s %s) failed permanently: %s", job.id, job.role, job.operation, _text(e))
        return None
    # Transient, conflict, or a bug: retried under the policy.
    if not isinstance(e, ConnectorError):
        # The type only at ERROR: a library's message may quote a URL with a key in it.
        log.error("job %s (%s %s) raised %s", job.id, job.role, job.operation, type(e).__name__)
        log.debug("job %s traceback", job.id, exc_info=e)
    error = _text(e)
    if job.attempts >= job.max_attempts:
        await _finish(db, job, JobStatus.FAILED, error=f"{error} (gave up after {job.attempts} attempts)")
        log.warning("job %s (%s %s) gave up: %s", job.id, job.role, job.operation, error)
        return None
    retry_after = e.retry_after if isinstance(e, TransientError) else None
    if isinstance(e, ConflictError):
        retry_after = max(retry_after or 0.0, config().policy(job.operation).min_backoff * 4)
    delay = backoff(config().policy(job.operation), job.attempts, retry_after)
    await _finish(db, job, JobStatus.RETRYING, error=error, retry_at=utcnow() + timedelta(seconds=delay))
    log.info("job %s (%s %s) retries in %.1f s: %s", job.id, job.role, job.operation, delay, error)
    return delay


# --- 3b. several notify jobs in one run ------------------------------------------------------

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
# A batch holds its lease from one claim; before a call made later than this after the lease was
# set (an earlier call of the batch was slow), the lease of the jobs still to run is renewed, so
# every call starts with about a whole lease ahead of it, as a job run alone does.
RENEW_AFTER = 1.0


def batched(operation: str, role: str) -> bool:
    """Whether the dispatcher may send this job with others in one message (see run_jobs)."""
    return operation == "notify" and getattr(connector_class(role), "digest", True) is False


async def run_jobs(db: Database, job_ids: Sequence[int]) -> dict[int, str]:
    """Run several ``notify`` jobs of notifiers that are never digested (one connector call per
    job), sent in one message; what became of each (as :func:`run_job` says it).

    The same rules as :func:`run_job`, per job: each is claimed with a lease (all in one
    conditional UPDATE, so a job that is done, failed, cancelled or held by another worker is
    skipped), the connector is called outside any transaction, once per job, one job after the
    other in id order, then the outcomes are recorded: the jobs that succeeded in one UPDATE,
    a failure as :func:`run_job` records it. A job to retry is sent again on its own, delayed
    by its backoff (Dramatiq cannot retry one job of a message). A single id runs as
    :func:`run_job` (and raises its ``dramatiq.Retry``).
    """
    if len(job_ids) == 1:
        return {job_ids[0]: await run_job(db, job_ids[0])}
    outcomes = dict.fromkeys(job_ids, "skipped")
    now = utcnow()
    held = now + _state["lease"]
    async with db.write() as session:
        rows = await _CLAIM_MANY_IDS.all(session, {"ids": list(job_ids), "now": now, "lease": held})
    if not rows:
        return outcomes
    held_since = time.monotonic()
    jobs = sorted(
        (Claimed(r[0], r[1], "notify", "event", r[2], {}, r[4], r[5], r[3], None, [], held) for r in rows),
        key=lambda j: j.id,
    )
    messages: dict[int, Message | None] = {}
    broken: dict[int, Exception] = {}
    async with db.read() as session:
        events = {e.id: e for e in await read_events(session, sorted({j.entity_id for j in jobs}))}
        for job in jobs:
            event = events.get(job.entity_id)
            try:
                messages[job.id] = None if event is None else await describe_event(session, event)
            except Exception as e:  # noqa: BLE001 - recorded below as a failure of this job
                broken[job.id] = e
    succeeded: list[int] = []
    retries: list[tuple[int, float]] = []
    lost: set[int] = set()
    for n, job in enumerate(jobs):
        if time.monotonic() - held_since > RENEW_AFTER:
            # A slow batch: record what succeeded so far, and hold the rest for a whole lease.
            await _succeeded(db, succeeded, outcomes, held)
            succeeded = []
            held, kept = await _renew(db, [j.id for j in jobs[n:]], held)
            for later in jobs[n:]:
                later.lease = held
            held_since = time.monotonic()
            lost.update(j.id for j in jobs[n:] if j.id not in kept)
        if job.id in lost:  # its lease ran out meanwhile: another worker may hold it now
            continue
        try:
            if job.id in broken:
                raise broken[job.id]
            message = messages[job.id]
            if message is not None:  # the event is gone: nothing to say (as a single run)
                limit = max((held - utcnow()).total_seconds() - 5.0, 1.0)
                try:
                    async with asyncio.timeout(limit):  # never outlive the lease (as run_job)
                        await connector(job.role).send(message)
                except TimeoutError:
                    raise TransientError(f"no result within {limit:.0f} s (the job's lease)") from None
        except Exception as e:  # noqa: BLE001 - as run_job: see _failed
            try:
                delay = await _failed(db, job, e)
            except _Lost:
                outcomes[job.id] = "lost"
                continue
            outcomes[job.id] = "failed" if delay is None else "retry"
            if delay is not None:
                retries.append((job.id, delay))
            continue
        succeeded.append(job.id)
    await _succeeded(db, succeeded, outcomes, held)
    for job_id, delay in retries:
        await asyncio.to_thread(_send_later, "notify", job_id, int(delay * 1000))
    return outcomes


async def _succeeded(db: Database, ids: list[int], outcomes: dict[int, str], held: datetime) -> None:
    if ids:
        async with db.write() as session:
            rows = await _SUCCEEDED_IDS.all(session, {"ids": ids, "now": utcnow(), "held": held})
        recorded = {r[0] for r in rows}  # the others' leases were taken over meanwhile
        outcomes.update({i: "succeeded" if i in recorded else "lost" for i in ids})


async def _renew(db: Database, ids: list[int], held: datetime) -> tuple[datetime, set[int]]:
    """Extend the lease of the jobs of a batch still to run; the new lease and the ids still held."""
    lease = utcnow() + _state["lease"]
    async with db.write() as session:
        rows = await _RENEW_IDS.all(session, {"ids": ids, "held": held, "lease": lease, "now": utcnow()})
    return lease, {r[0] for r in rows}


def _send_later(operation: str, job_id: int, delay_ms: int) -> None:
    actor = ACTORS.get(operation)
    if actor is None:  # no broker in this process (tests): the dispatcher sends it once overdue
        log.warning("job %s to retry is not sent: no %s actor declared", job_id, operation)
        return
    actor.send_with_options(args=(job_id,), delay=delay_ms)


def _text(e: BaseException) -> str:
    if isinstance(e, ConnectorError):
        code = f" [{e.code}]" if e.code else ""
        return f"{type(e).__name__}{code}: {e.message}"[:1000]
    return f"unexpected {type(e).__name__} (see the worker's log)"


# --- the operations -------------------------------------------------------------------------


async def _order(db: Database, order_id: int) -> Order:
    async with db.read() as session:
        order = await session.scalar(
            select(Order)
            .where(Order.id == order_id)
            .options(selectinload(Order.lines), selectinload(Order.customer))
        )
    if order is None:
        raise PermanentError(f"order {order_id} does not exist")
    return order


async def _push_sales_order(db: Database, job: Claimed) -> ExternalRef:
    if job.binding is not None:
        return job.binding
    o = await _order(db, job.entity_id)
    if o.status == OrderStatus.CANCELLED:
        raise _Cancelled
    lines = tuple(
        SalesLine(x.line_no, x.sku, x.name, x.quantity, x.unit_price, x.line_total) for x in o.lines
    )
    sales = SalesOrder(
        o.number, o.customer.code, o.customer.name, o.currency, lines, o.total, o.created_at, o.note
    )
    return await connector(job.role).push_sales_order(sales)  # type: ignore[no-any-return]


def _reference(number: str, payload: Mapping[str, Any]) -> str:
    return f"{number}-{payload['warehouse']}" if payload.get("split") else number


async def _push_outbound(db: Database, job: Claimed) -> ExternalRef:
    if job.binding is not None:
        return job.binding
    warehouse = str(job.payload["warehouse"])
    o = await _order(db, job.entity_id)
    if o.status == OrderStatus.CANCELLED:
        raise _Cancelled
    async with db.read() as session:
        rows = await session.execute(
            select(Reservation.quantity, Stock.product_id)
            .join(Stock, Stock.id == Reservation.stock_id)
            .join(Warehouse, Warehouse.id == Stock.warehouse_id)
            .where(Reservation.order_id == o.id, Warehouse.code == warehouse)
        )
        by_product: dict[int, int] = {}
        for quantity, product_id in rows:
            by_product[product_id] = by_product.get(product_id, 0) + quantity
    sku = {x.product_id: x.sku for x in o.lines}
    lines = tuple(OutboundLine(sku[p], q) for p, q in sorted(by_product.items()) if p in sku)
    if not lines:
        raise PermanentError(f"order {o.number} holds no stock in warehouse {warehouse}")
    outbound = OutboundOrder(
        _reference(o.number, job.payload), warehouse, o.customer.name, None, None, lines, o.note
    )
    return await connector(job.role).push_outbound_order(outbound)  # type: ignore[no-any-return]


async def _cancel_sales_order(db: Database, job: Claimed) -> None:
    o = await _order(db, job.entity_id)
    await connector(job.role).cancel_sales_order(o.number, job.binding)


async def _cancel_outbound(db: Database, job: Claimed) -> None:
    o = await _order(db, job.entity_id)
    await connector(job.role).cancel_outbound_order(_reference(o.number, job.payload), job.binding)


async def _push_purchase_request(db: Database, job: Claimed) -> ExternalRef:
    if job.binding is not None:
        return job.binding
    p = job.payload
    try:
        request = PurchaseRequest(
            reference=str(p["reference"]),
            warehouse_code=str(p["warehouse"]),
            lines=tuple(PurchaseLine(str(x["sku"]), int(x["quantity"])) for x in p["lines"]),
            note=p.get("note"),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise PermanentError(f"replenishment request is incomplete ({type(e).__name__})") from None
    return await connector(job.role).push_purchase_request(request)  # type: ignore[no-any-return]


async def _notify(db: Database, job: Claimed) -> None:
    ids = [job.id, *job.others]
    async with db.read() as session:
        events = await session.scalars(
            select(OutboxEvent)
            .join(IntegrationJob, IntegrationJob.entity_id == OutboxEvent.id)
            .where(IntegrationJob.id.in_(ids))
            .order_by(OutboxEvent.id)
        )
        messages = [await describe_event(session, e) for e in events.all()]
    if not messages:
        return
    message = messages[0] if len(messages) == 1 else digest(messages)
    await connector(job.role).send(message)


OPERATIONS: dict[str, Callable[[Database, Claimed], Awaitable[ExternalRef | None]]] = {
    "push_sales_order": _push_sales_order,
    "cancel_sales_order": _cancel_sales_order,
    "push_outbound": _push_outbound,
    "cancel_outbound": _cancel_outbound,
    "push_purchase_request": _push_purchase_request,
    "notify": _notify,
}


# --- messages -------------------------------------------------------------------------------

_VERBS = {
    "order.placed": "placed, waiting for approval",
    "order.approved": "approved",
    "order.rejected": "rejected",
    "order.cancelled": "cancelled",
    "order.shipped": "shipped",
}


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


async def describe_event(session: AsyncSession, event: OutboxEvent) -> Message:
    """A message for people about ``event`` (and, for webhooks, the event itself)."""
    data: dict[str, Any] = {k: _json(v) for k, v in (event.payload or {}).items()}
    title = f"{event.kind} #{event.id}"
    body = ""
    if event.aggregate == "order":
        order = await session.scalar(
            select(Order).where(Order.id == event.aggregate_id).options(selectinload(Order.customer))
        )
        if order is not None:
            verb = _VERBS.get(event.kind, event.kind.removeprefix("order."))
            title = f"Order {order.number} {verb}"
            body = f"**{order.customer.name}** ({order.customer.code}) · {order.total} {order.currency}"
            reason = data.get("reason")
            if reason:
                body += f"\n> {reason}"
            data.update(orderNumber=order.number, customerCode=order.customer.code, status=order.status,
                        total=str(order.total), currency=order.currency)  # fmt: skip
    info = EventInfo(id=f"evt_{event.id}", type=event.kind, occurred_at=event.created_at, data=data)
    return Message(title, body or title, event=info)


def digest(messages: list[Message]) -> Message:
    """Several messages for one chat, as one."""
    lines = [f"- **{m.title}**" + (f": {m.markdown.splitlines()[0]}" if m.markdown != m.title else "")
             for m in messages]  # fmt: skip
    return Message(f"{len(messages)} updates", "\n".join(lines))


# --- inbound: what a peer reported becomes outbox events, applied by a handler -------------


def inbound_payloads(events: list[WmsEvent]) -> list[tuple[str, str, dict[str, Any]]]:
    """(sender's event id, kind, payload) for :func:`hub.domain.integration.services.record_inbound`."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for e in events:
        if isinstance(e, ShipmentConfirmed):
            shipped = {
                "reference": e.reference,
                "shippedAt": e.shipped_at.isoformat(),
                "carrier": e.carrier,
                "trackingNumber": e.tracking_number,
                "lines": [[x.sku, x.quantity] for x in e.lines],
            }
            out.append((e.event_id, "shipment", shipped))
        elif isinstance(e, StockChanged):
            delta = {"sku": e.sku, "warehouse": e.warehouse_code, "delta": e.delta, "order": e.order_code}
            out.append((e.event_id, "stock_delta", delta))
        elif isinstance(e, StockReport):
            out.append((e.event_id, "stock_levels", {
                "warehouse": e.warehouse_code, "asOf": e.as_of.isoformat(),
                "levels": [[x.sku, x.warehouse_code, x.on_hand] for x in e.levels]}))  # fmt: skip
    return out


async def apply_inbound(session: AsyncSession, event: OutboxEvent) -> None:
    """The ``inbound`` outbox handler: apply what a peer reported, in the claim's transaction
    (so exactly once)."""
    p = event.payload
    source = str(p.get("role", "peer"))
    if event.kind == "inbound.shipment":
        applied = await integration.apply_shipment(
            session, str(p["reference"]), datetime.fromisoformat(p["shippedAt"]),
            [(str(s), int(q)) for s, q in p["lines"]], p.get("carrier"), p.get("trackingNumber"), source,
        )  # fmt: skip
        if not applied:
            log.info("shipment for %s not applied (unknown order or not APPROVED)", p["reference"])
    elif event.kind == "inbound.stock_delta":
        if int(p["delta"]) < 0 and await _outbound_of_ours(session, p.get("order")):
            # The goods of one of our approved orders leaving the warehouse: its shipment
            # confirmation takes them out of on-hand stock, with the order's reservations.
            log.info("stock change for order %s skipped: the shipment accounts for it", p["order"])
            return
        if not await integration.apply_stock_delta(
            session, str(p["sku"]), str(p["warehouse"]), int(p["delta"])
        ):
            log.info("stock change for unknown %s in %s ignored", p["sku"], p["warehouse"])
    elif event.kind == "inbound.stock_levels":
        as_of = datetime.fromisoformat(p["asOf"])
        for sku, warehouse, on_hand in p["levels"]:
            await integration.apply_stock_level(
                session, str(sku), str(warehouse), int(on_hand), as_of, source
            )


async def _outbound_of_ours(session: AsyncSession, reference: Any) -> bool:
    """Whether ``reference`` names one of the hub's orders that was pushed to the warehouse
    (APPROVED, SHIPPED or COMPLETED)."""
    if not reference or not HUB_ORDER.fullmatch(str(reference)):
        return False
    status = await session.scalar(select(Order.status).where(Order.id == int(str(reference)[2:10])))
    return status in (OrderStatus.APPROVED, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


HUB_ORDER = re.compile(r"SO\d{8}(-[A-Za-z0-9_.-]+)?")  # an order number, or a split's reference
handlers.register(
    "inbound", {"inbound.shipment", "inbound.stock_delta", "inbound.stock_levels"}, apply_inbound
)


# --- stock sync -----------------------------------------------------------------------------


async def pull_stock(db: Database, role: str) -> tuple[int, int]:
    """Read every stock level ``role`` holds and apply each that is newer than the last snapshot
    applied; (levels read, levels applied). Raises the connector's errors."""
    levels = await connector(role).read_stock()
    applied = 0
    async with db.write() as session:
        for level in levels:
            applied += await integration.apply_stock_level(
                session, level.sku, level.warehouse_code, level.on_hand, level.as_of, role
            )
    return len(levels), applied


@dataclass(frozen=True, slots=True)
class Drift:
    role: str
    sku: str
    warehouse: str
    hub: int | None  # None: the hub has no stock row for it
    peer: int | None  # None: the peer does not report it


async def reconcile(db: Database, roles: list[str]) -> list[Drift]:
    """Compare the hub's on-hand stock with what each of ``roles`` reports, per SKU and
    warehouse; the differences. Raises the connectors' errors."""
    async with db.read() as session:
        ours = await integration.hub_stock(session)
    drift: list[Drift] = []
    for role in roles:
        theirs = {(x.sku, x.warehouse_code): x.on_hand for x in await connector(role).read_stock()}
        for key in sorted(set(ours) | set(theirs)):
            hub_qty, peer_qty = ours.get(key), theirs.get(key)
            if hub_qty != peer_qty and not (peer_qty is None and hub_qty == 0):
                drift.append(Drift(role, key[0], key[1], hub_qty, peer_qty))
    return drift


# --- 2. the dispatcher ----------------------------------------------------------------------

DISPATCH_BATCH = 200  # jobs read per round


class JobDispatcher(Poller):
    """Sends jobs to their actors: new ones at once, lost ones once overdue. Like the outbox
    relay it runs in every API process; jobs are claimed, so a job sent twice runs once."""

    name = "job-dispatcher"
    logger = "jobs.integration"
    failure = "job dispatch failed; retrying"

    def __init__(self, db: Database, send: Callable[[str, Any], None], interval: float = 0.2,
                 overdue: timedelta | None = None) -> None:  # fmt: skip
        super().__init__()
        self.db = db
        self.send = send  # blocking (Redis I/O): runs in a thread
        self.interval = interval
        self.overdue = overdue
        self._next_pull = 0.0

    def _pull_due(self) -> str | None:
        sync = config().stock_sync
        if sync.source is None or sync.interval <= 0:
            return None
        now = asyncio.get_running_loop().time()
        if now < self._next_pull:
            return None
        self._next_pull = now + sync.interval
        return sync.source

    async def dispatch_once(self) -> int:
        now = utcnow()
        late = now - (self.overdue or _state["overdue"])
        due = or_(
            IntegrationJob.enqueued_at.is_(None),
            and_(IntegrationJob.enqueued_at < late, IntegrationJob.next_attempt_at < late),
        )
        stmt = (
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
            .limit(DISPATCH_BATCH)
        )
        # Every hub process runs a dispatcher: on PostgreSQL each sends the jobs the others have
        # not locked, so that a new job is sent once, not once per process.
        return len(await send_claimed(self.db, stmt, self._send_all, lambda rows: self._mark(rows, now)))

    @staticmethod
    def _mark(rows: list[Any], now: datetime) -> Any:
        return (
            update(IntegrationJob)
            .where(IntegrationJob.id.in_([r[0] for r in rows]))
            .values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )

    def _send_all(self, rows: list[Any]) -> None:
        together: list[int] = []
        for job_id, operation, role in rows:
            if batched(operation, role):
                together.append(job_id)
            else:
                self.send(operation, job_id)
        # Several per message (run_jobs), spread over several messages when only a few are due.
        size = min(JOBS_PER_MESSAGE, max(1, math.ceil(len(together) / SPREAD)))
        for i in range(0, len(together), size):
            chunk = together[i : i + size]
            self.send("notify", chunk if len(chunk) > 1 else chunk[0])

    async def tick(self) -> None:
        while await self.dispatch_once() == DISPATCH_BATCH:
            pass  # more are due: send them now, not an interval later
        role = self._pull_due()
        if role is not None:
            await asyncio.to_thread(self.send, "pull_stock", role)  # type: ignore[arg-type]


# --- Dramatiq actors ------------------------------------------------------------------------

ACTORS: dict[str, dramatiq.Actor[Any, Any]] = {}


def declare(broker: dramatiq.Broker, db: Callable[[], Database]) -> None:
    """One actor per operation, each with its policy (Dramatiq's own retry count is a backstop:
    the job's attempts in the database decide)."""
    ACTORS.clear()
    for operation in OPERATIONS:
        policy = config().policy(operation)

        async def run(job_id: int | list[int], _op: str = operation) -> None:
            if isinstance(job_id, list):  # several notify jobs (see JobDispatcher._send_all)
                await run_jobs(db(), job_id)
            else:
                await run_job(db(), job_id)

        ACTORS[operation] = dramatiq.actor(
            run,
            actor_name=f"integration_{operation}",
            queue_name=QUEUE,
            broker=broker,
            max_retries=policy.max_attempts + 5,
            min_backoff=int(policy.min_backoff * 1000),
            max_backoff=int(policy.max_backoff * 1000),
        )
    pull = config().policy("pull_stock")

    async def pull_actor(role: str) -> None:
        read, applied = await pull_stock(db(), role)
        log.info("stock pulled from %s: %d level(s) read, %d applied", role, read, applied)

    ACTORS["pull_stock"] = dramatiq.actor(
        pull_actor, actor_name="integration_pull_stock", queue_name=QUEUE, broker=broker,
        max_retries=pull.max_attempts, min_backoff=int(pull.min_backoff * 1000),
        max_backoff=int(pull.max_backoff * 1000),
    )  # fmt: skip


def send(operation: str, arg: int | str | list[int]) -> None:
    ACTORS[operation].send(arg)
