"""``WmsContract``: the tests every WMS connector must pass, for built-ins and third parties.

Subclass it and provide ``make_connector``, ``seed_stock`` and ``is_cancelled`` (put stock in,
and ask, the test peer) and ``signed_callback`` (the query parameters, headers and body of a
shipment confirmation for ``reference``, signed as your peer signs them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.sdk import ExternalRef
from connectors.testing import DocumentContract
from connectors.wms import InvalidCallback, OutboundLine, OutboundOrder, ShipmentConfirmed, WmsConnector

__all__ = ["WmsContract", "sample_outbound"]

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def sample_outbound(reference: str = "SO-CONTRACT-1") -> OutboundOrder:
    return OutboundOrder(
        reference=reference,
        warehouse_code="WH1",
        consignee_name="Contract Customer",
        consignee_phone="13800000000",
        address="1 Contract Road",
        lines=(OutboundLine("SKU-1", 2),),
    )


class WmsContract(DocumentContract):
    protocol = WmsConnector

    def signed_callback(self, connector: Any, reference: str) -> tuple[dict[str, str], dict[str, str], bytes]:
        raise NotImplementedError

    async def test_an_outbound_order_pushed_twice_exists_once(self) -> None:
        connector = await self._connector()
        try:
            first = await connector.push_outbound_order(sample_outbound("SO-CONTRACT-TWICE"))
            again = await connector.push_outbound_order(sample_outbound("SO-CONTRACT-TWICE"))
            await connector.cancel_outbound_order("SO-CONTRACT-TWICE", first)
            await connector.cancel_outbound_order("SO-CONTRACT-TWICE", first)
            await connector.cancel_outbound_order("SO-CONTRACT-NEVER-PUSHED", None)
            assert self.is_cancelled(connector, "SO-CONTRACT-TWICE")
        finally:
            await connector.aclose()
        assert isinstance(first, ExternalRef) and again == first

    async def test_a_signed_callback_parses_and_a_tampered_one_is_refused(self) -> None:
        connector = await self._connector()
        try:
            query, headers, body = self.signed_callback(connector, "SO-CONTRACT-SHIP")
            events = connector.parse_callback(query, headers, body, NOW)
            with pytest.raises(InvalidCallback):
                connector.parse_callback(query, headers, body + b" ", NOW)
            with pytest.raises(InvalidCallback):
                connector.parse_callback({}, {}, body, NOW)
        finally:
            await connector.aclose()
        assert [type(e) for e in events] == [ShipmentConfirmed]
        assert events[0].reference == "SO-CONTRACT-SHIP"
