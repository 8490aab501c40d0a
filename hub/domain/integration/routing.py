"""Which jobs an outbox event asks for, and creating them exactly once.

- ``order.approved`` → ``push_sales_order`` to ``erp``; ``push_outbound`` to ``wms``, one per
  warehouse holding the order's reservations (the reference ``SO…-<warehouse>`` when split);
- ``order.cancelled`` → for each push made or waiting, its cancel;
- ``replenishment.requested`` → ``push_purchase_request`` to ``erp``;
- any event matching a ``[[notifications]]`` rule → one ``notify`` job per notifier role.

The decisions are pure functions (:func:`approval_jobs`, :func:`cancellation_jobs`,
:func:`replenishment_jobs`, :func:`notification_jobs`); :func:`create_jobs` is the outbox
handler that reads what they need and inserts the jobs in the claim's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.base import table_of, utcnow
from hub.domain.customers.models import Customer
from hub.domain.fastsql import Statement, is_postgresql
from hub.domain.integration.models import IntegrationJob, JobStatus
from hub.domain.integration.policies import IntegrationRules
from hub.domain.inventory.models import Reservation, Stock, Warehouse
from hub.domain.orders.models import Order, OrderStatus
from hub.domain.outbox.kinds import EventKind
from hub.domain.outbox.models import OutboxEvent

__all__ = [
    "CANCEL_OF",
    "NOT_PUSHED",
    "PUSHES",
    "JobSpec",
    "Push",
    "approval_jobs",
    "cancellation_jobs",
    "create_jobs",
    "notification_jobs",
    "replenishment_jobs",
]

NOT_PUSHED = "not pushed: the order was cancelled first"
PUSHES = ("push_sales_order", "push_outbound")
CANCEL_OF = {"push_sales_order": "cancel_sales_order", "push_outbound": "cancel_outbound"}  # per push


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job to create: unique by :attr:`key`."""

    role: str
    operation: str
    entity: str
    entity_id: int
    part: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        part = f":{self.part}" if self.part else ""
        return f"{self.role}:{self.operation}:{self.entity}:{self.entity_id}{part}"


@dataclass(frozen=True, slots=True)
class Push:
    """A push job made (or waiting) for an order, as a cancellation sees it."""

    role: str
    operation: str
    key: str
    payload: Mapping[str, Any]


def approval_jobs(rules: IntegrationRules, order_id: int, warehouses: Sequence[str]) -> list[JobSpec]:
    """The pushes of an approved order: the sales order to ``erp``, and to ``wms`` an outbound
    order per warehouse in ``warehouses`` (a part per warehouse when there are several)."""
    jobs = []
    if rules.has("erp"):
        jobs.append(JobSpec("erp", "push_sales_order", "order", order_id))
    if rules.has("wms"):
        split = len(warehouses) > 1
        for code in warehouses:
            jobs.append(JobSpec("wms", "push_outbound", "order", order_id, code if split else "",
                                {"warehouse": code, "split": split}))  # fmt: skip
    return jobs


def cancellation_jobs(order_id: int, pushes: Sequence[Push]) -> list[JobSpec]:
    """A cancel for each push of a cancelled order (made, or still waiting: the cancel's run
    stops a waiting push from being made)."""
    jobs = []
    for push in pushes:
        part = str(push.payload["warehouse"]) if push.payload.get("split") else ""
        jobs.append(JobSpec(push.role, CANCEL_OF[push.operation], "order", order_id, part,
                            {**push.payload, "push": push.key}))  # fmt: skip
    return jobs


def replenishment_jobs(rules: IntegrationRules, request_id: int, payload: Mapping[str, Any]) -> list[JobSpec]:
    """A purchase request to ``erp`` for a replenishment request."""
    if not rules.has("erp"):
        return []
    return [JobSpec("erp", "push_purchase_request", "replenishment", request_id, payload=dict(payload))]


def narrowed_by_customer(rules: IntegrationRules, kind: str) -> bool:
    """Whether a rule matching ``kind`` names customers (so the event's customer is needed)."""
    return any(rule.customers for rule in rules.rules if rule.matches_kind(kind))


def notification_jobs(
    rules: IntegrationRules, event_id: int, kind: str, customer: str | None
) -> list[JobSpec]:
    """One ``notify`` job per notifier role a rule matching the event sends it to."""
    roles = {role for rule in rules.rules if rule.matches(kind, customer) for role in rule.to}
    return [JobSpec(role, "notify", "event", event_id, payload={"kind": kind}) for role in sorted(roles)]


# --- creating them ----------------------------------------------------------------------------

_jobs = table_of(IntegrationJob)


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


async def add_jobs(
    session: AsyncSession, rules: IntegrationRules, event_id: int, jobs: Sequence[JobSpec]
) -> None:
    """Create each job unless it exists, in the caller's transaction (one statement each: this
    runs for every event a rule matches)."""
    pg = is_postgresql(session)
    for job in jobs:
        await _INSERT_JOB.all(session, {
            "key": job.key, "role": job.role, "operation": job.operation, "entity": job.entity,
            "entity_id": job.entity_id, "event_id": event_id,
            "max_attempts": rules.policy(job.operation).max_attempts, "now": utcnow(),
            # Statement runs on asyncpg directly on PostgreSQL, which takes JSON as text.
            "payload": json.dumps(dict(job.payload)) if pg else dict(job.payload),
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


async def _customer_code(session: AsyncSession, event: OutboxEvent) -> str | None:
    if event.aggregate != "order":
        return None
    return await session.scalar(
        select(Customer.code)
        .join(Order, Order.customer_id == Customer.id)
        .where(Order.id == event.aggregate_id)
    )


async def create_jobs(session: AsyncSession, event: OutboxEvent, rules: IntegrationRules) -> None:
    """The ``integration`` outbox handler: create the jobs ``event`` asks for, in the caller's
    transaction (the one that claims the event, so each job is created once)."""
    kind = event.kind
    if kind == EventKind.ORDER_APPROVED:
        # Events are not handled in order: an order already cancelled when its approval is
        # handled (a backlog; or its cancellation was handled first and found nothing to cancel)
        # gets its pushes as CANCELLED, never sent. The row lock makes a cancellation committing
        # meanwhile wait for these jobs, so that its handler, which runs after it, finds them.
        status = await session.scalar(
            select(Order.status).where(Order.id == event.aggregate_id).with_for_update()
        )
        codes = await _warehouses(session, event.aggregate_id) if rules.has("wms") else []
        await add_jobs(session, rules, event.id, approval_jobs(rules, event.aggregate_id, codes))
        if status == OrderStatus.CANCELLED:
            now = utcnow()
            await session.execute(
                update(IntegrationJob)
                .where(IntegrationJob.entity == "order", IntegrationJob.entity_id == event.aggregate_id)
                .where(IntegrationJob.operation.in_(PUSHES))
                .where(IntegrationJob.status == JobStatus.PENDING.value)
                .values(status=JobStatus.CANCELLED.value, last_error=NOT_PUSHED)
                .values(updated_at=now, finished_at=now)
                .execution_options(synchronize_session=False)
            )
    elif kind == EventKind.ORDER_CANCELLED:
        found = await session.scalars(
            select(IntegrationJob).where(
                IntegrationJob.entity == "order",
                IntegrationJob.entity_id == event.aggregate_id,
                IntegrationJob.operation.in_(PUSHES),
                # CANCELLED already: never sent (above), or its cancel job exists
                IntegrationJob.status != JobStatus.CANCELLED.value,
            )
        )
        pushes = [Push(p.role, p.operation, p.key, p.payload) for p in found]
        await add_jobs(session, rules, event.id, cancellation_jobs(event.aggregate_id, pushes))
    elif kind == EventKind.REPLENISHMENT_REQUESTED:
        await add_jobs(session, rules, event.id, replenishment_jobs(rules, event.aggregate_id, event.payload))
    customer = await _customer_code(session, event) if narrowed_by_customer(rules, kind) else None
    await add_jobs(session, rules, event.id, notification_jobs(rules, event.id, kind, customer))
