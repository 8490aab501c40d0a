"""The ``null`` notifier passes the notifier contract and is found by its entry point."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from connectors.notify import Message
from connectors.notify.null import NullNotifier
from connectors.notify.testing import NotifierContract
from connectors.registry import load


class TestNullNotifier(NotifierContract):
    async def make_connector(self) -> NullNotifier:
        return NullNotifier(NullNotifier.Settings())

    def delivered(self, connector: Any) -> list[str]:
        return list(connector.titles)


async def test_it_counts_calls_and_logs_the_count_when_closed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="connectors.notify")
    notifier = NullNotifier(NullNotifier.Settings())
    for n in range(3):
        await notifier.send(Message(f"event #{n}", "body"))
    await notifier.aclose()
    assert notifier.calls == 3
    assert [r.getMessage() for r in caplog.records] == ["null notifier: 3 message(s) dropped"]


def test_it_is_installed_as_null_and_never_digested() -> None:
    assert load("notify", "null") is NullNotifier
    assert NullNotifier.digest is False
