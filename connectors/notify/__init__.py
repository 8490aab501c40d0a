"""Notifiers: tell people in WeCom, DingTalk, Feishu, or a customer's own system (webhook).

Built-ins (WeCom robot, DingTalk robot, Feishu bot, Standard Webhooks, log, null) and third-party
notifiers implement :class:`Notifier`. Which event goes to which notifier is configured in the
hub's connector file; a notifier only sends what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from connectors.sdk import Connector

__all__ = ["EventInfo", "Message", "Notifier"]


@dataclass(frozen=True, slots=True)
class EventInfo:
    """The hub event behind a message, for notifiers that deliver machine-readable events (the
    ``webhook`` notifier posts it as JSON; chat robots ignore it)."""

    id: str  # stable for the event and the subscription: a receiver dedupes on it (webhook-id)
    type: str  # the event kind, e.g. "order.approved"
    occurred_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready values only


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    markdown: str  # the body; each notifier renders what its tool supports
    mentions: tuple[str, ...] = ()  # the tool's user ids or mobile numbers to @-mention
    link: str | None = None  # where to read more (the order in the hub's front end)
    event: EventInfo | None = None  # the event behind it, when there is one


@runtime_checkable
class Notifier(Connector, Protocol):
    async def send(self, message: Message) -> None:
        """Deliver one message. Rate limits queue and digest; they never drop."""
        ...
