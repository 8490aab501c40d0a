"""Documents for the peers, built from orders: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest

from connectors.erp import PurchaseLine, PurchaseRequest, SalesLine, SalesOrder
from connectors.sdk import PermanentError
from connectors.wms import OutboundLine, OutboundOrder
from hub.domain.integration.documents import outbound_order, purchase_request, reference, sales_order
from hub.domain.orders.models import Order

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def order() -> Order:
    line = SimpleNamespace(line_no=1, sku="SKU-A", name="Bolt", quantity=3, unit_price=Decimal("2.50"),
                           line_total=Decimal("7.50"), product_id=11)  # fmt: skip
    other = SimpleNamespace(line_no=2, sku="SKU-B", name="Nut", quantity=1, unit_price=Decimal("1.00"),
                            line_total=Decimal("1.00"), product_id=12)  # fmt: skip
    customer = SimpleNamespace(code="ACME", name="Acme Trading")
    found: Any = SimpleNamespace(number="SO00000042", customer=customer, currency="CNY", lines=[line, other],
                                 total=Decimal("8.50"), created_at=AT, note="by noon")  # fmt: skip
    return cast(Order, found)


def test_a_sales_order_carries_the_number_customer_lines_and_total() -> None:
    assert sales_order(order()) == SalesOrder(
        "SO00000042", "ACME", "Acme Trading", "CNY",
        (SalesLine(1, "SKU-A", "Bolt", 3, Decimal("2.50"), Decimal("7.50")),
         SalesLine(2, "SKU-B", "Nut", 1, Decimal("1.00"), Decimal("1.00"))),
        Decimal("8.50"), AT, "by noon",
    )  # fmt: skip


def test_an_outbound_order_carries_what_is_reserved_in_its_warehouse() -> None:
    whole = outbound_order(order(), {"warehouse": "W1", "split": False}, {12: 1, 11: 3})
    assert whole == OutboundOrder(
        "SO00000042",
        "W1",
        "Acme Trading",
        None,
        None,
        (OutboundLine("SKU-A", 3), OutboundLine("SKU-B", 1)),
        "by noon",
    )
    part = outbound_order(order(), {"warehouse": "W2", "split": True}, {12: 1})
    assert (part.reference, part.lines) == ("SO00000042-W2", (OutboundLine("SKU-B", 1),))


def test_an_outbound_order_with_nothing_reserved_there_is_refused() -> None:
    with pytest.raises(PermanentError, match="holds no stock in warehouse W3"):
        outbound_order(order(), {"warehouse": "W3"}, {})


def test_a_split_part_is_referenced_by_number_and_warehouse() -> None:
    assert reference("SO00000042", {"warehouse": "W1", "split": False}) == "SO00000042"
    assert reference("SO00000042", {"warehouse": "W1", "split": True}) == "SO00000042-W1"


def test_a_purchase_request_from_a_replenishment_payload() -> None:
    payload = {"reference": "R-1", "warehouse": "W1", "lines": [{"sku": "SKU-A", "quantity": "5"}]}
    assert purchase_request(payload) == PurchaseRequest("R-1", "W1", (PurchaseLine("SKU-A", 5),), None)
    with pytest.raises(PermanentError, match="incomplete"):
        purchase_request({"reference": "R-1", "lines": []})
