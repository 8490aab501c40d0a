"""``NotifierContract``: the tests every notifier must pass, for built-ins and third parties.

Subclass it and provide ``make_connector`` and ``delivered`` (the messages the test peer
received, as the notifier's own text, in order)."""

from __future__ import annotations

from typing import Any

from connectors.notify import Message, Notifier
from connectors.testing import ConnectorContract

__all__ = ["NotifierContract"]


class NotifierContract(ConnectorContract):
    protocol = Notifier

    def delivered(self, connector: Any) -> list[str]:
        raise NotImplementedError

    async def test_messages_arrive_in_order_with_their_title(self) -> None:
        connector = await self._connector()
        try:
            for n in range(3):
                await connector.send(
                    Message(f"Order SO00000{n} approved", f"**{n}** lines", link="https://hub/o")
                )
            seen = self.delivered(connector)
        finally:
            await connector.aclose()
        assert len(seen) == 3
        assert all(f"SO00000{n}" in text for n, text in enumerate(seen))
