"""Notifiers: tell people in WeCom, DingTalk, Feishu, or a customer's own system (webhook).

Built-ins (planned: WeCom robot, DingTalk robot, Feishu bot, Standard Webhooks) and third-party
notifiers implement :class:`Notifier`. Which event goes to which notifier is configured in the
hub's connector file; a notifier only sends what it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from connectors.sdk import Connector

__all__ = ["Message", "Notifier"]


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    markdown: str  # the body; each notifier renders what its tool supports
    mentions: tuple[str, ...] = ()  # the tool's user ids or mobile numbers to @-mention
    link: str | None = None  # where to read more (the order in the hub's front end)


@runtime_checkable
class Notifier(Connector, Protocol):
    async def send(self, message: Message) -> None:
        """Deliver one message. Rate limits queue and digest; they never drop."""
        ...
