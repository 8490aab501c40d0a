"""``null``: a notifier that delivers nothing. Each message costs one call and no I/O, so it
measures the hub's own cost of a notification (``bench/integration.py``), or keeps a rule
configured while its real notifier is switched off.

It counts what it was given (``calls``) and remembers the last titles; when closed it logs the
count (logger ``connectors.notify``), so a benchmark can read it from a worker's log."""

from __future__ import annotations

import logging
from collections import deque

from connectors.notify import Message
from connectors.sdk import CheckResult, ConnectorSettings

__all__ = ["NullNotifier"]

log = logging.getLogger("connectors.notify")

TITLES_KEPT = 1000


class NullNotifierSettings(ConnectorSettings):
    """No settings."""


class NullNotifier:
    Settings = NullNotifierSettings
    # One call per event: the hub never digests these (a digest would hide its per-event cost).
    digest = False

    def __init__(self, settings: NullNotifierSettings) -> None:
        self.settings = settings
        self.calls = 0
        self.titles: deque[str] = deque(maxlen=TITLES_KEPT)  # the latest, oldest first

    async def check(self) -> CheckResult:
        return CheckResult(True, "delivers nothing (messages are counted and dropped)")

    async def aclose(self) -> None:
        log.info("null notifier: %d message(s) dropped", self.calls)

    async def send(self, message: Message) -> None:
        self.calls += 1
        self.titles.append(message.title)
