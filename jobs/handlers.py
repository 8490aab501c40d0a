"""What happens when an event is delivered: a registry of named handlers per event kind.

A handler is an async function ``(session, event) -> None`` that runs in the same transaction
as the record that marks it done, so a redelivered event never runs a handler twice. The
integration issue registers connector pushes and notifications here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.outbox.models import OutboxEvent

__all__ = ["Handler", "register", "registered"]

log = logging.getLogger("jobs.handlers")

HandlerFn = Callable[[AsyncSession, OutboxEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Handler:
    name: str
    kinds: frozenset[str]  # event kinds; "*" for all
    fn: HandlerFn


_HANDLERS: dict[str, Handler] = {}


def register(name: str, kinds: set[str] | frozenset[str], fn: HandlerFn) -> None:
    """Add (or replace) the handler called ``name``."""
    _HANDLERS[name] = Handler(name, frozenset(kinds), fn)


def unregister(name: str) -> None:
    _HANDLERS.pop(name, None)


def registered(kind: str | None = None) -> list[Handler]:
    """The handlers of ``kind`` (all of them when None), in the order they were registered."""
    return [h for h in _HANDLERS.values() if kind is None or "*" in h.kinds or kind in h.kinds]


async def _log_event(_session: AsyncSession, event: OutboxEvent) -> None:
    log.debug("event %s #%s for %s %s", event.kind, event.id, event.aggregate, event.aggregate_id)


register("log", {"*"}, _log_event)
