"""Integration state, as staff and the job engine see it: listing and retrying jobs, each
order's sync state, bindings, inbound events, and applying what the ERP and WMS report back.

Nothing here talks to a peer: the job engine (:mod:`jobs.integration`) does, and calls these to
record what happened. Customers never see integration state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.base import utcnow
from hub.domain.catalog.models import Product
from hub.domain.errors import DomainError, ErrorCode
from hub.domain.integration.models import (
    OPEN_STATUSES,
    Binding,
    InboundEvent,
    IntegrationJob,
    JobStatus,
    StockMark,
)
from hub.domain.inventory.models import Stock, Warehouse
from hub.domain.inventory.services import consume_order
from hub.domain.orders.models import Order, OrderEvent, OrderStatus, TimelineKind
from hub.domain.outbox.services import record_event
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor

__all__ = [
    "SyncOperation",
    "SyncState",
    "apply_shipment",
    "apply_stock_delta",
    "apply_stock_level",
    "binding",
    "bind",
    "count_jobs",
    "list_jobs",
    "record_inbound",
    "retry_job",
    "sync_states",
]


def _require_staff(actor: Principal) -> None:
    """Raises: DomainError PERMISSION_DENIED unless ``actor`` may see integration state."""
    require(actor, Action.INTEGRATION_VIEW)


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


async def count_jobs(
    session: AsyncSession, actor: Principal, status: JobStatus | None = None, role: str | None = None
) -> int:
    """How many jobs :func:`list_jobs` pages through with the same filters, for staff.

    Raises:
        DomainError: PERMISSION_DENIED for customers.
    """
    _require_staff(actor)
    stmt = select(func.count()).select_from(IntegrationJob)
    if status is not None:
        stmt = stmt.where(IntegrationJob.status == status.value)
    if role is not None:
        stmt = stmt.where(IntegrationJob.role == role)
    return int(await session.scalar(stmt) or 0)


async def retry_job(session: AsyncSession, actor: Principal, job_id: int) -> IntegrationJob:
    """Put a FAILED job back in the queue with a fresh set of attempts (ADMIN only), after the
    cause has been fixed. Its last error stays until the next attempt replaces it.

    Raises:
        DomainError: PERMISSION_DENIED unless ADMIN; NOT_FOUND; INVALID_TRANSITION unless FAILED.
    """
    require(actor, Action.INTEGRATION_RETRY)
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
_PUSHES = ("push_sales_order", "push_outbound")
_CANCELS = ("cancel_sales_order", "cancel_outbound")
_ORDER_OPERATIONS = (*_PUSHES, *_CANCELS)


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
    _require_staff(actor)
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


async def binding(session: AsyncSession, role: str, entity: str, hub_id: int) -> Binding | None:
    return await session.scalar(
        select(Binding).where(Binding.role == role, Binding.entity == entity, Binding.hub_id == hub_id)
    )


async def bind(
    session: AsyncSession, role: str, entity: str, hub_id: int, external_id: str, number: str | None
) -> None:
    """Record what the peer calls a hub document (once; a second call keeps the first)."""
    if await binding(session, role, entity, hub_id) is None:
        session.add(Binding(role=role, entity=entity, hub_id=hub_id, external_id=external_id, number=number,
                            created_at=utcnow()))  # fmt: skip
        await session.flush()


async def record_inbound(
    session: AsyncSession, role: str, events: Iterable[tuple[str, str, dict[str, Any]]]
) -> list[int]:
    """Record received events ``(sender's event id, kind, payload)`` once each, each with the
    outbox event that applies it, in the caller's transaction; the outbox ids of the new ones
    (a replay records nothing)."""
    recorded = []
    for event_id, kind, payload in events:
        seen = await session.scalar(
            select(InboundEvent.id).where(InboundEvent.role == role, InboundEvent.event_id == event_id)
        )
        if seen is not None:
            continue
        session.add(InboundEvent(role=role, event_id=event_id, kind=kind, received_at=utcnow()))
        await session.flush()  # the unique constraint settles a race with a concurrent delivery
        recorded.append(
            await record_event(session, f"inbound.{kind}", "inbound", 0, {"role": role, **payload})
        )
    return recorded


async def _order_by_number(session: AsyncSession, reference: str) -> Order | None:
    if not (reference.startswith("SO") and reference[2:].isdigit() and int(reference[2:]) < 2**31):
        return None
    return await session.get(Order, int(reference[2:]), with_for_update=True)


async def apply_shipment(
    session: AsyncSession,
    reference: str,
    shipped_at: datetime,
    lines: Sequence[tuple[str, int]],
    carrier: str | None,
    tracking: str | None,
    source: str,
) -> bool:
    """The warehouse shipped an order, or one warehouse's part of a split order (reference
    ``SO…-<warehouse code>``): what was reserved for it there leaves on-hand stock, a timeline
    entry names the carrier and tracking number, and an APPROVED order becomes SHIPPED (at its
    first part). False (nothing written) for an unknown order, one neither APPROVED nor SHIPPED,
    or a part with nothing reserved any more (a repeated confirmation is not an error)."""
    number, _, part = reference.partition("-")
    order = await _order_by_number(session, number)
    if order is None or order.status not in (OrderStatus.APPROVED, OrderStatus.SHIPPED):
        return False
    warehouse_id = None
    if part:
        warehouse_id = await session.scalar(select(Warehouse.id).where(Warehouse.code == part))
        if warehouse_id is None:
            return False
    first = order.status == OrderStatus.APPROVED
    if first:
        order.status = OrderStatus.SHIPPED.value
        order.updated_at = utcnow()
        await session.flush()
    if not await consume_order(session, order.id, warehouse_id) and not first:
        return False  # this part was confirmed before
    units = sum(q for _, q in lines)
    via = f" via {carrier}" if carrier else ""
    tracking_text = f", tracking {tracking}" if tracking else ""
    session.add(OrderEvent(order_id=order.id, at=shipped_at, kind=TimelineKind.SHIPPED.value,
                           message=f"Shipped {units} unit(s){via}{tracking_text}", actor=source))  # fmt: skip
    if first:
        await record_event(session, "order.shipped", "order", order.id,
                           {"orderId": order.id, "carrier": carrier, "trackingNumber": tracking})  # fmt: skip
    await session.flush()
    return True


async def _stock_row(session: AsyncSession, sku: str, warehouse_code: str) -> tuple[Stock | None, int, int]:
    product_id = await session.scalar(select(Product.id).where(Product.sku == sku))
    warehouse_id = await session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse_code))
    if product_id is None or warehouse_id is None:
        return None, 0, 0
    stock = await session.scalar(
        select(Stock)
        .where(Stock.product_id == product_id, Stock.warehouse_id == warehouse_id)
        .with_for_update()
    )
    if stock is None:
        stock = Stock(
            product_id=product_id, warehouse_id=warehouse_id, on_hand=0, reserved=0, updated_at=utcnow()
        )
        session.add(stock)
        await session.flush()
    return stock, product_id, warehouse_id


async def apply_stock_delta(session: AsyncSession, sku: str, warehouse_code: str, delta: int) -> bool:
    """Add a reported change to on-hand stock (never below zero). False for an unknown SKU or
    warehouse."""
    stock, _, _ = await _stock_row(session, sku, warehouse_code)
    if stock is None:
        return False
    stock.on_hand = max(stock.on_hand + delta, 0)
    stock.updated_at = utcnow()
    await session.flush()
    return True


async def apply_stock_level(
    session: AsyncSession, sku: str, warehouse_code: str, on_hand: int, as_of: datetime, source: str
) -> bool:
    """Set on-hand stock from a snapshot, only if it is newer than the last snapshot applied
    to that product and warehouse. False when it is older (or the SKU/warehouse is unknown)."""
    stock, product_id, warehouse_id = await _stock_row(session, sku, warehouse_code)
    if stock is None:
        return False
    mark = await session.scalar(
        select(StockMark).where(StockMark.product_id == product_id, StockMark.warehouse_id == warehouse_id)
    )
    if mark is not None and mark.as_of >= as_of:
        return False
    if mark is None:
        session.add(StockMark(product_id=product_id, warehouse_id=warehouse_id, as_of=as_of, source=source))
    else:
        mark.as_of, mark.source = as_of, source
    stock.on_hand = max(on_hand, 0)
    stock.updated_at = utcnow()
    await session.flush()
    return True


async def hub_stock(session: AsyncSession) -> dict[tuple[str, str], int]:
    """On-hand stock per (SKU, warehouse code), as the hub counts it."""
    rows = await session.execute(
        select(Product.sku, Warehouse.code, Stock.on_hand)
        .join(Stock, Stock.product_id == Product.id)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
    )
    return {(sku, wh): on_hand for sku, wh, on_hand in rows}


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
