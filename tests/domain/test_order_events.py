"""The outbox payload builders of order events (:mod:`hub.domain.orders.events`)."""

from __future__ import annotations

from decimal import Decimal

from hub.domain.orders import events
from hub.domain.outbox.kinds import EventKind


def test_each_builder_names_its_kind_and_puts_the_order_id_first() -> None:
    built = [
        events.placed(7, 3, Decimal("12.50"), "CNY"),
        events.approved(7),
        events.rejected(7, "Out of range"),
        events.cancelled(7, None),
        events.shipped(7, "SF", "SF123"),
    ]
    assert [e.kind for e in built] == [
        EventKind.ORDER_PLACED,
        EventKind.ORDER_APPROVED,
        EventKind.ORDER_REJECTED,
        EventKind.ORDER_CANCELLED,
        EventKind.ORDER_SHIPPED,
    ]
    assert all(e.order_id == 7 and next(iter(e.payload)) == "orderId" for e in built)


def test_the_payloads_as_consumers_read_them() -> None:
    assert events.placed(7, 3, Decimal("12.50"), "CNY").payload == {
        "orderId": 7,
        "customerId": 3,
        "total": "12.50",
        "currency": "CNY",
    }
    assert events.approved(7).payload == {"orderId": 7}
    assert events.rejected(7, "Out of range").payload == {"orderId": 7, "reason": "Out of range"}
    assert events.cancelled(7, None).payload == {"orderId": 7, "reason": None}
    assert events.shipped(7, None, None).payload == {"orderId": 7, "carrier": None, "trackingNumber": None}
