"""What every kind's contract suite shares: building the connector under test, checking it
implements its kind's Protocol, and the live check. See ``connectors.<kind>.testing``."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.sdk import CheckResult, StockLevel

__all__ = ["ConnectorContract", "DocumentContract"]


class ConnectorContract:
    protocol: ClassVar[type]

    async def make_connector(self) -> Any:
        """The connector under test, talking to a test peer. Subclasses provide it."""
        raise NotImplementedError

    async def _connector(self) -> Any:
        connector = await self.make_connector()
        name = f"{self.protocol.__module__}.{self.protocol.__name__}"
        assert isinstance(connector, self.protocol), f"does not implement {name}"
        return connector

    async def test_check_gives_a_verdict(self) -> None:
        connector = await self._connector()
        try:
            result = await connector.check()
        finally:
            await connector.aclose()
        assert isinstance(result, CheckResult) and result.ok and result.detail


class DocumentContract(ConnectorContract):
    """What the ERP and WMS suites share: hooks into the test peer, and reading stock.

    Subclasses provide ``seed_stock`` (put stock into the test peer) and ``is_cancelled`` (ask
    it whether a document was cancelled), so the tests check real results."""

    def seed_stock(self, connector: Any, sku: str, warehouse_code: str, on_hand: int) -> None:
        raise NotImplementedError

    def is_cancelled(self, connector: Any, reference: str) -> bool:
        raise NotImplementedError

    async def test_stock_comes_back_as_levels(self) -> None:
        connector = await self._connector()
        try:
            self.seed_stock(connector, "SKU-1", "WH1", 7)
            self.seed_stock(connector, "SKU-2", "WH1", 3)
            levels = await connector.read_stock()
            some = await connector.read_stock(["SKU-1"])
        finally:
            await connector.aclose()
        assert all(isinstance(x, StockLevel) for x in levels)
        seen = {(x.sku, x.warehouse_code, x.on_hand) for x in levels}
        assert seen >= {("SKU-1", "WH1", 7), ("SKU-2", "WH1", 3)}
        assert [(x.sku, x.on_hand) for x in some] == [("SKU-1", 7)]
