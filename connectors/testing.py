"""What every kind's contract suite shares: building the connector under test, checking it
implements its kind's Protocol, and the live check. See ``connectors.<kind>.testing``."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.sdk import CheckResult

__all__ = ["ConnectorContract"]


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
