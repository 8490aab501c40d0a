"""Notification texts and digests: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from connectors.notify import Message
from hub.domain.integration.messages import OrderFacts, digest, event_message
from hub.domain.outbox.models import OutboxEvent

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ACME = OrderFacts("SO00000042", "Acme Trading", "ACME", "CANCELLED", Decimal("1234.50"), "CNY")


def event(kind: str, payload: dict[str, object], aggregate: str = "order") -> OutboxEvent:
    return OutboxEvent(id=7, kind=kind, aggregate=aggregate, aggregate_id=42, payload=payload, created_at=AT)


def test_an_order_event_names_the_order_the_customer_and_the_total() -> None:
    message = event_message(event("order.cancelled", {"orderId": 42, "reason": "changed"}), ACME)
    assert message.title == "Order SO00000042 cancelled"
    assert message.markdown == "**Acme Trading** (ACME) · 1234.50 CNY\n> changed"
    assert message.event is not None
    assert (message.event.id, message.event.type, message.event.occurred_at) == (
        "evt_7",
        "order.cancelled",
        AT,
    )
    assert message.event.data == {
        "orderId": 42, "reason": "changed", "orderNumber": "SO00000042", "customerCode": "ACME",
        "status": "CANCELLED", "total": "1234.50", "currency": "CNY",
    }  # fmt: skip


def test_verbs_per_kind() -> None:
    titles = [
        event_message(event(k, {}), ACME).title for k in ("order.placed", "order.shipped", "order.paid")
    ]
    assert titles == [
        "Order SO00000042 placed, waiting for approval",
        "Order SO00000042 shipped",
        "Order SO00000042 paid",
    ]


def test_an_event_about_no_order_is_named_by_its_kind() -> None:
    message = event_message(event("replenishment.requested", {"at": AT}, aggregate="replenishment"), None)
    assert (message.title, message.markdown) == ("replenishment.requested #7", "replenishment.requested #7")
    assert message.event is not None and message.event.data == {"at": "2026-03-01T09:30:00+00:00"}


def test_a_digest_has_a_line_per_message() -> None:
    messages = [Message("Order SO1 approved", "**Acme** (ACME) · 1 CNY\n> more"), Message("t #2", "t #2")]
    assert digest(messages) == Message(
        "2 updates", "- **Order SO1 approved**: **Acme** (ACME) · 1 CNY\n- **t #2**"
    )
