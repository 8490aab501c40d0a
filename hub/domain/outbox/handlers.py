"""What happens when an event is delivered: a registry of named handlers per event kind.

A handler is an async function ``(session, event) -> None`` that runs in the same transaction
as the record that marks it done, so a redelivered event never runs a handler twice. The
composition root (:mod:`hub.bootstrap`) registers them; nothing registers at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.outbox.models import OutboxEvent

__all__ = ["EventCannotApply", "Handler", "HandlerFn", "Handlers", "log_event"]

log = logging.getLogger("hub.domain.outbox.handlers")

HandlerFn = Callable[[AsyncSession, OutboxEvent], Awaitable[None]]


class EventCannotApply(Exception):
    """Raised by a handler that knows the event can never apply (a retry would fail the same
    way): the event becomes a dead letter at once instead of being retried. Its message is
    kept as the event's ``last_error`` (truncated), so say what is wrong, never a secret."""


@dataclass(frozen=True, slots=True)
class Handler:
    name: str
    kinds: frozenset[str]  # event kinds; "*" for all
    fn: HandlerFn

    def wants(self, kind: str) -> bool:
        return "*" in self.kinds or kind in self.kinds


class Handlers:
    """The handlers of one runtime, in the order they were registered."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, kinds: Iterable[str], fn: HandlerFn) -> None:
        """Add (or replace) the handler called ``name``."""
        self._handlers[name] = Handler(name, frozenset(kinds), fn)

    def registered(self) -> list[Handler]:
        """The handlers, in the order they were registered."""
        return list(self._handlers.values())


async def log_event(_session: AsyncSession, event: OutboxEvent) -> None:
    """The ``log`` handler: every event, at DEBUG."""
    log.debug("event %s #%s for %s %s", event.kind, event.id, event.aggregate, event.aggregate_id)
