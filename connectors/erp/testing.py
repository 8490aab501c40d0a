"""``ErpContract``: the tests every ERP connector must pass, for built-ins and third parties.

Subclass it in your own test suite and provide the connector (and a way to read back what the
peer holds)::

    class TestMyErp(ErpContract):
        async def make_connector(self):
            return MyErp(MyErp.Settings(base_url=fake_peer_url, ...))

Needs pytest with pytest-asyncio in auto mode.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from connectors.erp import ErpConnector, PurchaseLine, PurchaseRequest, SalesLine, SalesOrder
from connectors.sdk import ExternalRef
from connectors.testing import DocumentContract

__all__ = ["ErpContract", "sample_order"]


def sample_order(reference: str = "SO-CONTRACT-1") -> SalesOrder:
    return SalesOrder(
        reference=reference,
        customer_code="C-CONTRACT",
        customer_name="Contract Customer",
        currency="CNY",
        lines=(
            SalesLine(1, "SKU-1", "First", 2, Decimal("10.00"), Decimal("20.00")),
            SalesLine(2, "SKU-2", "Second", 1, Decimal("5.50"), Decimal("5.50")),
        ),
        total=Decimal("25.50"),
        placed_at=datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        note="contract test",
    )


class ErpContract(DocumentContract):
    """Subclass with ``make_connector`` (async, returns a connector talking to a test peer),
    ``seed_stock`` (put stock in the test peer) and ``is_cancelled`` (ask the test peer)."""

    protocol = ErpConnector

    async def test_a_sales_order_pushed_twice_exists_once(self) -> None:
        connector = await self._connector()
        try:
            first = await connector.push_sales_order(sample_order("SO-CONTRACT-TWICE"))
            again = await connector.push_sales_order(sample_order("SO-CONTRACT-TWICE"))
            other = await connector.push_sales_order(sample_order("SO-CONTRACT-OTHER"))
        finally:
            await connector.aclose()
        assert isinstance(first, ExternalRef) and first.external_id
        assert again == first
        assert other.external_id != first.external_id

    async def test_cancelling_twice_or_unknown_is_harmless(self) -> None:
        connector = await self._connector()
        try:
            ref = await connector.push_sales_order(sample_order("SO-CONTRACT-CANCEL"))
            await connector.cancel_sales_order("SO-CONTRACT-CANCEL", ref)
            await connector.cancel_sales_order("SO-CONTRACT-CANCEL", ref)
            await connector.cancel_sales_order("SO-CONTRACT-NEVER-PUSHED", None)
            assert self.is_cancelled(connector, "SO-CONTRACT-CANCEL")
        finally:
            await connector.aclose()

    async def test_a_purchase_request_pushed_twice_exists_once(self) -> None:
        request = PurchaseRequest("PR-CONTRACT-1", "WH1", (PurchaseLine("SKU-1", 40),))
        connector = await self._connector()
        try:
            first = await connector.push_purchase_request(request)
            again = await connector.push_purchase_request(request)
        finally:
            await connector.aclose()
        assert first == again and first.external_id
