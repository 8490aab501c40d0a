"""``log``: a notifier that writes each message to the hub's log (logger ``connectors.notify``),
for trials before a chat robot is set up, and for tests (it keeps what it sent)."""

from __future__ import annotations

import logging
from typing import Literal

from connectors.notify import Message
from connectors.sdk import CheckResult, ConnectorSettings

__all__ = ["LogNotifier"]

log = logging.getLogger("connectors.notify")


class LogNotifierSettings(ConnectorSettings):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class LogNotifier:
    Settings = LogNotifierSettings

    def __init__(self, settings: LogNotifierSettings) -> None:
        self.settings = settings
        self.level: int = logging.getLevelName(settings.level)
        self.sent: list[Message] = []

    async def check(self) -> CheckResult:
        return CheckResult(
            True, f"writes messages to logger connectors.notify at {self.settings.level.upper()}"
        )

    async def aclose(self) -> None:
        return None

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        log.log(
            self.level,
            "%s | %s%s",
            message.title,
            message.markdown,
            f" | {message.link}" if message.link else "",
        )
