"""What notifiers say: a message per event, and a digest of several for one chat.

:func:`event_message` and :func:`digest` are pure; :func:`describe_event` and
:func:`messages_of_jobs` read the order an event is about in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from connectors.notify import EventInfo, Message
from hub.domain.integration.models import IntegrationJob
from hub.domain.orders.models import Order
from hub.domain.outbox.kinds import EventKind
from hub.domain.outbox.models import OutboxEvent

__all__ = ["OrderFacts", "describe_event", "digest", "event_message", "messages_of_jobs"]

_VERBS: dict[str, str] = {
    EventKind.ORDER_PLACED: "placed, waiting for approval",
    EventKind.ORDER_APPROVED: "approved",
    EventKind.ORDER_REJECTED: "rejected",
    EventKind.ORDER_CANCELLED: "cancelled",
    EventKind.ORDER_SHIPPED: "shipped",
}


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What a message says about the order an event is about."""

    number: str
    customer_name: str
    customer_code: str
    status: str
    total: Decimal
    currency: str


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


def event_message(event: OutboxEvent, order: OrderFacts | None) -> Message:
    """A message for people about ``event`` (and, for webhooks, the event itself: its
    ``webhook-id`` is ``evt_<event id>``, stable across retries)."""
    data: dict[str, Any] = {k: _json(v) for k, v in (event.payload or {}).items()}
    title = f"{event.kind} #{event.id}"
    body = ""
    if order is not None:
        verb = _VERBS.get(event.kind, event.kind.removeprefix("order."))
        title = f"Order {order.number} {verb}"
        body = f"**{order.customer_name}** ({order.customer_code}) · {order.total} {order.currency}"
        reason = data.get("reason")
        if reason:
            body += f"\n> {reason}"
        data.update(
            orderNumber=order.number,
            customerCode=order.customer_code,
            status=order.status,
            total=str(order.total),
            currency=order.currency,
        )
    info = EventInfo(id=f"evt_{event.id}", type=event.kind, occurred_at=event.created_at, data=data)
    return Message(title, body or title, event=info)


def digest(messages: Sequence[Message]) -> Message:
    """Several messages for one chat, as one: "N updates", a line each."""
    lines = [f"- **{m.title}**" + (f": {m.markdown.splitlines()[0]}" if m.markdown != m.title else "")
             for m in messages]  # fmt: skip
    return Message(f"{len(messages)} updates", "\n".join(lines))


async def describe_event(session: AsyncSession, event: OutboxEvent) -> Message:
    """:func:`event_message` for ``event``, with its order read when it is about one."""
    facts = None
    if event.aggregate == "order":
        order = await session.scalar(
            select(Order).where(Order.id == event.aggregate_id).options(selectinload(Order.customer))
        )
        if order is not None:
            facts = OrderFacts(
                order.number,
                order.customer.name,
                order.customer.code,
                order.status,
                order.total,
                order.currency,
            )
    return event_message(event, facts)


async def messages_of_jobs(session: AsyncSession, job_ids: Sequence[int]) -> list[Message]:
    """The messages of the events of these notify jobs, in event order (none for events that
    are gone)."""
    events = await session.scalars(
        select(OutboxEvent)
        .join(IntegrationJob, IntegrationJob.entity_id == OutboxEvent.id)
        .where(IntegrationJob.id.in_(list(job_ids)))
        .order_by(OutboxEvent.id)
    )
    return [await describe_event(session, e) for e in events.all()]
