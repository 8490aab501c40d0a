"""The bounds every WMS callback is held to (connectors.wms.check_callback), whichever connector
parsed it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.sdk import StockLevel
from connectors.wms import (
    MAX_QUANTITY,
    InvalidCallback,
    ShipmentConfirmed,
    ShippedLine,
    StockChanged,
    StockReport,
    check_callback,
    parse_quantity,
)
from hub.domain.inventory import services as inventory

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_the_hub_and_the_connectors_share_one_quantity_bound() -> None:
    assert inventory.MAX_QUANTITY == MAX_QUANTITY == 1_000_000_000


@pytest.mark.parametrize("text, value", [("0", 0), ("+7", 7), (" -12 ", -12), ("1000000000", MAX_QUANTITY)])
def test_quantities_in_text_within_the_bounds_parse(text: str, value: int) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "text", ["100000000000000000000", "1000000001", "-1000000001", "1.5", "1e20", "1_000", "", None, "٣"]
)
def test_quantities_in_text_outside_the_bounds_are_refused(text: str | None) -> None:
    with pytest.raises(InvalidCallback, match="quantity must be an integer"):
        parse_quantity(text)


def _shipment(**kw: object) -> ShipmentConfirmed:
    fields: dict[str, object] = {"event_id": "E1", "reference": "SO00000001", "shipped_at": AT,
                                 "lines": (ShippedLine("SKU-A", 1),)}  # fmt: skip
    return ShipmentConfirmed(**{**fields, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "event",
    [
        _shipment(lines=(ShippedLine("SKU-A", 10**20),)),
        _shipment(lines=(ShippedLine("SKU-A", -1),)),
        _shipment(lines=(ShippedLine("SKU-A", True),)),
        _shipment(lines=(ShippedLine("S" * 65, 1),)),
        _shipment(event_id=""),
        _shipment(reference="SO\x001"),
        _shipment(carrier="x" * 201),
        _shipment(shipped_at=datetime(2026, 1, 1)),
        StockChanged("E2", "W1", "SKU-A", -(10**20), AT),
        StockChanged("E2", "W" * 41, "SKU-A", 1, AT),
        StockReport("E3", "W1", AT, (StockLevel("SKU-A", "W1", -5, AT),)),
        StockReport("E3", "W1", AT, (StockLevel("SKU-A", "W1", 1.5, AT),)),  # type: ignore[arg-type]
    ],
)
def test_events_outside_the_bounds_are_refused(event: ShipmentConfirmed | StockChanged | StockReport) -> None:
    with pytest.raises(InvalidCallback):
        check_callback([event])


def test_events_within_the_bounds_pass_unchanged() -> None:
    events = [
        _shipment(lines=(ShippedLine("SKU-A", MAX_QUANTITY),), carrier="SF", tracking_number="SF1\t"),
        StockChanged("E2", "W1", "SKU-A", -MAX_QUANTITY, AT, order_code="SO00000001"),
        StockReport("E3", "W1", AT, (StockLevel("SKU-A", "W1", 0, AT),)),
    ]
    assert check_callback(events) == events
