"""What peers report back: pure rules (no double counting, newer snapshots only, drift)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.sdk import StockLevel
from connectors.wms import ShipmentConfirmed, ShippedLine, StockChanged, StockReport, WmsEvent
from hub.domain.integration.inbound import Drift, counted_by_shipment, drift, inbound_payloads, newer

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_a_decrease_for_one_of_our_pushed_orders_is_left_to_its_shipment() -> None:
    for status in ("APPROVED", "SHIPPED", "COMPLETED"):
        assert counted_by_shipment(-3, status)
    # not ours, not pushed, or not a decrease: applied
    for other in (None, "PENDING_APPROVAL", "CANCELLED", "REJECTED"):
        assert not counted_by_shipment(-3, other)
    assert not counted_by_shipment(4, "APPROVED")
    assert not counted_by_shipment(0, "APPROVED")


def test_only_a_newer_snapshot_replaces_the_last() -> None:
    assert newer(AT, None)
    assert newer(AT, AT - timedelta(seconds=1))
    assert not newer(AT, AT)
    assert not newer(AT - timedelta(hours=1), AT)


def test_drift_lists_differences_in_order() -> None:
    ours = {("A", "W1"): 10, ("A", "W2"): 5, ("C", "W2"): 2, ("Z", "W1"): 0}
    theirs = {("A", "W1"): 10, ("A", "W2"): 4, ("D", "W1"): 9}
    assert drift("wms", ours, theirs) == [
        Drift("wms", "A", "W2", 5, 4),
        Drift("wms", "C", "W2", 2, None),
        Drift("wms", "D", "W1", None, 9),
    ]  # Z: the hub holds none and the peer does not report it: no drift


def test_reports_become_inbound_payloads() -> None:
    events: list[WmsEvent] = [
        ShipmentConfirmed("e1", "SO00000001-W2", AT, (ShippedLine("A", 3),), "SF", "SF900"),
        StockChanged("e2", "W1", "A", -3, AT, "SO00000001"),
        StockReport("e3", "W1", AT, (StockLevel("A", "W1", 7, AT),)),
    ]
    assert inbound_payloads(events) == [
        ("e1", "shipment", {"reference": "SO00000001-W2", "shippedAt": AT.isoformat(), "carrier": "SF",
                            "trackingNumber": "SF900", "lines": [["A", 3]]}),
        ("e2", "stock_delta", {"sku": "A", "warehouse": "W1", "delta": -3, "order": "SO00000001"}),
        ("e3", "stock_levels", {"warehouse": "W1", "asOf": AT.isoformat(), "levels": [["A", "W1", 7]]}),
    ]  # fmt: skip
