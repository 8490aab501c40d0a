"""The events an order sends to the outbox: one builder per kind, used by every path that records
one (the order services, the PostgreSQL placement statement, the shipment applied from the WMS).

Consumers (the integration engine, webhooks, notifications) read these payloads; every one
carries ``orderId`` first. The timeline entries people read are another thing: see
:class:`~hub.domain.orders.models.TimelineKind` (``OrderEvent`` rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.outbox.kinds import EventKind
from hub.domain.outbox.services import record_event

__all__ = [
    "AGGREGATE",
    "OrderOutboxEvent",
    "approved",
    "cancelled",
    "placed",
    "record",
    "rejected",
    "shipped",
]

AGGREGATE = "order"


@dataclass(frozen=True, slots=True)
class OrderOutboxEvent:
    """An event about one order, ready for the outbox."""

    kind: EventKind
    order_id: int
    payload: dict[str, Any]


def _event(kind: EventKind, order_id: int, **fields: Any) -> OrderOutboxEvent:
    return OrderOutboxEvent(kind, order_id, {"orderId": order_id, **fields})


def placed(order_id: int, customer_id: int, total: Decimal, currency: str) -> OrderOutboxEvent:
    """``order.placed``: the total as a decimal string in ``currency``."""
    return _event(
        EventKind.ORDER_PLACED, order_id, customerId=customer_id, total=str(total), currency=currency
    )


def approved(order_id: int) -> OrderOutboxEvent:
    """``order.approved``."""
    return _event(EventKind.ORDER_APPROVED, order_id)


def rejected(order_id: int, reason: str) -> OrderOutboxEvent:
    """``order.rejected`` with the (cleaned) reason."""
    return _event(EventKind.ORDER_REJECTED, order_id, reason=reason)


def cancelled(order_id: int, reason: str | None) -> OrderOutboxEvent:
    """``order.cancelled`` with the (cleaned) reason, None when none was given."""
    return _event(EventKind.ORDER_CANCELLED, order_id, reason=reason)


def shipped(order_id: int, carrier: str | None, tracking: str | None) -> OrderOutboxEvent:
    """``order.shipped``, recorded once, at the order's first shipment."""
    return _event(EventKind.ORDER_SHIPPED, order_id, carrier=carrier, trackingNumber=tracking)


async def record(session: AsyncSession, event: OrderOutboxEvent) -> int:
    """Write ``event`` to the outbox in the caller's transaction; returns its id."""
    return await record_event(session, event.kind.value, AGGREGATE, event.order_id, event.payload)
